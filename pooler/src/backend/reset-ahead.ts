// The reset that travels ahead of the next client's request (issue 15). When a transaction ends
// while another client waits for a connection, the DISCARD ALL that must run between them
// (reset.ts) goes to the server in the same write as the waiting client's request, instead of a
// round trip of its own before it: one write, one wake-up of the backend and one read fewer per
// transaction handed over, on the pooler and on PostgreSQL.
//
// Why it is safe. The reset is sent with the extended protocol — Parse, Bind, Execute of
// "DISCARD ALL", no Sync — so that:
// - when it fails, PostgreSQL "reads and discards messages until a Sync is reached" (protocol
//   docs, "Extended Query"): nothing the next client sent runs on the unreset session. The pooler
//   closes the connection on the ErrorResponse (which PostgreSQL always flushes at once), so
//   nothing after that Sync runs either — and only bytes that hold nothing after their first
//   request-ending message ride along (mayRide); anything the client sends later is held until
//   the reset has answered (client.ts forward).
// - when it succeeds it is committed before the next message: DISCARD ALL cannot run in a
//   transaction block, and PostgreSQL commits such a command at once after its Execute (protocol
//   docs, "Pipelining"; commit "Force immediate commit after CREATE DATABASE etc in extended
//   protocol", back-patched in August 2022: 10.22, 11.17, 12.12, 13.8, 14.5, and 15.0 on). Before
//   those releases it would share the next client's implicit transaction, and a rollback of that
//   would undo part of the reset: older servers keep the reset's own round trip
//   (discardAheadSupported).
// The replies to the reset (ParseComplete, BindComplete, CommandComplete "DISCARD ALL",
// CloseComplete, and any ParameterStatus, notice or notification the server sends meanwhile) are taken off the stream by
// the server connection (ResetReplies, server.ts) before whoever is linked sees a byte.
import { BE_BIND_COMPLETE, BE_CLOSE_COMPLETE, BE_COMMAND_COMPLETE, BE_NOTICE_RESPONSE, BE_NOTIFICATION_RESPONSE, BE_PARAMETER_STATUS, BE_PARSE_COMPLETE } from '../net/codes.ts';
import { FE_FLUSH, FE_FUNCTION_CALL, FE_QUERY, FE_SYNC } from '../net/codes.ts';
import { parseParameterStatus } from '../net/parse.ts';

/** Parse, Bind and Execute of DISCARD ALL on the unnamed statement and portal, then Close of that statement; no Sync. */
export const DISCARD_AHEAD = Buffer.from([
  // Parse: name "", query "DISCARD ALL", 0 parameter types
  ...[0x50, 0, 0, 0, 4 + 1 + 12 + 2, 0, ...Buffer.from('DISCARD ALL\0', 'latin1'), 0, 0],
  // Bind: portal "", statement "", 0 format codes, 0 parameters, 0 result format codes
  ...[0x42, 0, 0, 0, 4 + 1 + 1 + 2 + 2 + 2, 0, 0, 0, 0, 0, 0, 0, 0],
  // Execute: portal "", no row limit
  ...[0x45, 0, 0, 0, 4 + 1 + 4, 0, 0, 0, 0, 0],
  // Close statement "": the next client finds no unnamed statement, as after a simple Query (26000)
  ...[0x43, 0, 0, 0, 4 + 1 + 1, 0x53, 0],
]);

/** Flush: makes the server send the reset's replies when nothing the client sent will (server.ts flushReset). */
export const FLUSH_AHEAD = Buffer.from([FE_FLUSH, 0, 0, 0, 4]);

/** Whether DISCARD ALL commits at once after its Execute on a server reporting `version` (above). */
export function discardAheadSupported(version: string | undefined): boolean {
  const m = version === undefined ? null : /^(\d+)(?:\.(\d+))?/.exec(version);
  if (m === null) return false;
  const major = Number(m[1]);
  const minor = m[2] === undefined ? 0 : Number(m[2]);
  if (major >= 15) return true;
  const first: Record<number, number> = { 10: 22, 11: 17, 12: 12, 13: 8, 14: 5 };
  return first[major] !== undefined && minor >= first[major]!;
}

/**
 * Whether a waiting client's queued bytes may follow an unanswered reset: whole messages, nothing
 * after the first one that ends a request (Sync, Query, FunctionCall), and ending with one of those
 * or a Flush — so that the server sends its replies (and with them the reset's) without waiting
 * for more from the client, and a failed reset's skip to the next Sync skips all of them.
 */
export function mayRide(chunks: readonly Buffer[]): boolean {
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  let at = 0;
  let last = 0;
  while (at < bytes.length) {
    if (last === FE_SYNC || last === FE_QUERY || last === FE_FUNCTION_CALL) return false;
    if (bytes.length - at < 5) return false;
    const len = bytes.readInt32BE(at + 1);
    if (len < 4 || bytes.length - at - 1 < len) return false;
    last = bytes[at]!;
    at += 1 + len;
  }
  return last === FE_SYNC || last === FE_QUERY || last === FE_FUNCTION_CALL || last === FE_FLUSH;
}

/** The largest reply to the reset taken apart here (a notice, a notification): more is a broken stream. */
const MAX_REPLY = 64 * 1024;

/**
 * Takes the reset's replies off the front of a server connection's stream. `consume` returns what
 * follows them (null while they are not all in), or 'failed' (an ErrorResponse, anything
 * unexpected): the connection must be closed.
 */
export class ResetReplies {
  private carry: Buffer | null = null;
  /** CommandComplete "DISCARD ALL" is in; the CloseComplete that follows ends the replies. */
  private discarded = false;
  private readonly onParameter: (name: string, value: string) => void;

  constructor(onParameter: (name: string, value: string) => void) {
    this.onParameter = onParameter;
  }

  consume(chunk: Buffer): Buffer | null | 'failed' {
    const bytes = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    let at = 0;
    while (bytes.length - at >= 5) {
      const type = bytes[at]!;
      const len = bytes.readInt32BE(at + 1);
      if (len < 4 || len > MAX_REPLY) return 'failed';
      if (bytes.length - at - 1 < len) break;
      const body = bytes.subarray(at + 5, at + 1 + len);
      at += 1 + len;
      switch (type) {
        case BE_PARSE_COMPLETE:
        case BE_BIND_COMPLETE:
        case BE_NOTICE_RESPONSE:
        case BE_NOTIFICATION_RESPONSE:
          continue;
        case BE_PARAMETER_STATUS: {
          const p = parseParameterStatus(body);
          this.onParameter(p.name, p.value);
          continue;
        }
        case BE_COMMAND_COMPLETE:
          if (this.discarded || body.length !== 12 || body.toString('latin1', 0, 11) !== 'DISCARD ALL') return 'failed';
          this.discarded = true;
          continue;
        case BE_CLOSE_COMPLETE:
          if (!this.discarded) return 'failed';
          return at < bytes.length ? bytes.subarray(at) : EMPTY;
        default:
          // ErrorResponse (the reset failed), or anything else: not the reset's answer.
          return 'failed';
      }
    }
    if (at < bytes.length) this.carry = Buffer.from(bytes.subarray(at));
    return null;
  }
}

const EMPTY = Buffer.alloc(0);
