// A client left while its server connection was busy: a query running, replies still owed.
// PostgreSQL notices a closed client socket only when it next reads or writes, so closing the
// server connection then would leave the query running while the pool opens another connection
// in its place: with pool size 1, fifteen busy backends were seen (issue 10). Instead the
// connection keeps its slot until the backend is really free:
// - the running query is cancelled (CancelRequest with the backend's key);
// - when the bytes sent so far end at a message boundary, the pooler appends CopyFail (ends a COPY
//   FROM STDIN; ignored outside COPY), a Parse the server refuses (ABORT_BATCH: an extended-protocol
//   batch the client never synced must not commit, as it would not have had the client's
//   connection simply ended), Sync (ends the batch, now failed), ROLLBACK, and a
//   `SET application_name` to a random marker. The ParameterStatus carrying the marker, then
//   ReadyForQuery, show that everything the client sent has been answered and the backend is
//   idle: the connection is reset and goes back to the pool;
// - otherwise (the client's stream was cut mid-message, nothing can follow it) the connection is
//   half-closed once the cancel has been delivered, and its slot is free when the backend exits;
// - either way, a backend that does not come back within ABANDON_WAIT_MS is closed, and only then
//   is its slot free.
// Protocol docs: "Canceling Requests in Progress", "COPY Operations", "Extended Query".
import { randomBytes } from 'node:crypto';
import { BE_PARAMETER_STATUS, BE_READY_FOR_QUERY, TX_IDLE } from '../net/codes.ts';
import type { DisconnectReason } from '../errors.ts';
import { encodeParse } from '../net/extended.ts';
import * as msg from '../net/messages.ts';
import { cancelServerRequest } from './cancel.ts';
import type { Pool } from './pool.ts';
import { resetServer } from './reset.ts';
import type { ServerConnection, ServerLink } from './server.ts';

/** How long an abandoned backend may take to become idle before its connection is closed. */
export const ABANDON_WAIT_MS = 10_000;
/** Cancels sent per abandoned connection at most. */
const MAX_CANCELS = 10;
/** While the client's requests are still running, a cancel this often. */
const CANCEL_REPEAT_MS = 500;
const COPY_FAIL = msg.copyFail('the client disconnected');
/**
 * A Parse that fails (syntax error, 42601) before it defines anything: the implicit transaction of
 * an unsynced batch is aborted, and the server skips to the Sync that follows (protocol docs,
 * "Extended Query": "When an error is detected while processing any extended-query message, the
 * backend ... reads and discards messages until a Sync is reached"). A Sync alone would commit
 * statements the client executed but never synced.
 */
const ABORT_BATCH = encodeParse('', Buffer.from('SWITCHYARD_CLIENT_GONE\0\0\0', 'latin1'));
const SYNC = msg.sync();
const ROLLBACK = msg.query('ROLLBACK');

export interface Abandoned {
  /** Requests (Query, Sync, FunctionCall) sent whose ReadyForQuery has not come back. */
  requests: number;
  /** The bytes sent to the server end at a message boundary. */
  atBoundary: boolean;
  /** Session mode: the session ends, DISCARD ALL as on any client exit. */
  session: boolean;
  /**
   * False: the client sent Terminate behind its requests, so they run to their end uncancelled,
   * as PostgreSQL runs what precedes a Terminate (client.ts terminate); still ABANDON_WAIT_MS at most.
   */
  cancel?: boolean;
}

export function abandonServer(server: ServerConnection, pool: Pool, a: Abandoned): void {
  let cancels = a.cancel === false ? MAX_CANCELS : 1;
  const delivered = a.cancel === false ? Promise.resolve() : cancelServerRequest(server);
  // Every cancel sent, until delivered: one still travelling when the connection goes to the next
  // client would cancel that client's query instead (a CancelRequest has its own connection and
  // can arrive late).
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  };
  track(delivered);
  let done = false;
  let link: ServerLink | null = null;
  const timer = setTimeout(() => finish('unclean_release'), ABANDON_WAIT_MS);
  let repeat: NodeJS.Timeout | undefined;
  /** `reason` undefined: the backend answered everything, reset it (`rollback`: a transaction is open); else close. */
  function finish(reason?: DisconnectReason, rollback = false): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    clearInterval(repeat);
    if (server.link === link) server.link = null;
    if (server.closed) return;
    if (reason !== undefined) {
      // Cut mid-message: no Terminate may follow (it would complete the message).
      if (!a.atBoundary && !server.socket.destroyed) server.socket.end();
      return server.close(reason);
    }
    server.dirty = true;
    // The slot stays taken (neither idle nor closed) until the last cancel is in; a cancel that
    // lands on the reset fails it, and the connection is closed rather than reused.
    const reset = (): void => {
      if (!server.closed) resetServer(server, pool, { rollback, discardAll: a.session });
    };
    if (inFlight.size === 0) return reset();
    void Promise.all(inFlight).then(reset);
  }
  // A cancel that reaches the backend while it is between two of the client's requests is ignored
  // (PostgreSQL drops a cancel that arrives while it reads a command): repeat it, bounded.
  const cancelAgain = (): void => {
    if (done || cancels >= MAX_CANCELS) return;
    cancels++;
    track(cancelServerRequest(server));
  };
  if (!a.atBoundary) {
    // Nothing can follow a message cut short. Closing at once would free the slot while the
    // requests already sent (queued in the backend's socket) still run. Instead the pooler only
    // half-closes (FIN, no Terminate: it would be read as the rest of the cut message): the backend
    // reads what was sent, meets end-of-file in the middle of a message and exits. The slot stays
    // taken until it does (the server closes its end), or until ABANDON_WAIT_MS.
    link = { onServerData: () => undefined, onServerClosed: () => finish('server_lost') };
    server.link = link;
    void delivered.then(() => {
      if (!done) server.socket.end();
    });
    repeat = setInterval(cancelAgain, CANCEL_REPEAT_MS);
    repeat.unref();
    return;
  }
  /** ReadyForQuery messages so far: the client's requests', then the one of the Sync appended. */
  let readies = 0;
  // Until the appended Sync is answered, something of the client's may still run.
  repeat = setInterval(() => {
    if (readies <= a.requests) cancelAgain();
  }, CANCEL_REPEAT_MS);
  repeat.unref();
  const marker = `switchyard-drain-${randomBytes(8).toString('hex')}`;
  const skim = new ReplySkimmer();
  let marked = false;
  link = {
    onServerData(chunk) {
      skim.feed(chunk, (type, body) => {
        if (type === BE_PARAMETER_STATUS && body !== null && body.toString('latin1') === `application_name\0${marker}\0`) marked = true;
        else if (type === BE_READY_FOR_QUERY) {
          if (marked) return finish(undefined, body?.[0] !== TX_IDLE);
          // One of the client's requests ended; if more of them are queued, cancel the next.
          if (++readies < a.requests) cancelAgain();
        }
      });
    },
    onServerClosed() {
      finish('server_lost');
    },
  };
  server.link = link;
  server.socket.write(Buffer.concat([COPY_FAIL, ABORT_BATCH, SYNC, ROLLBACK, msg.query(`SET application_name = '${marker}'`)]));
}

/**
 * Follows the message boundaries of a server stream without keeping whole messages: only the
 * bodies of ParameterStatus and ReadyForQuery (small) are collected; a large result streaming
 * back from a cancelled query costs no memory.
 */
class ReplySkimmer {
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private type = 0;
  private remaining = 0;
  private body: Buffer[] | null = null;

  feed(chunk: Buffer, onMessage: (type: number, body: Buffer | null) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.headerLength < 5) {
        const n = Math.min(5 - this.headerLength, chunk.length - at);
        chunk.copy(this.header, this.headerLength, at, at + n);
        this.headerLength += n;
        at += n;
        if (this.headerLength < 5) return;
        this.type = this.header[0]!;
        this.remaining = Math.max(0, this.header.readInt32BE(1) - 4);
        this.body = this.type === BE_PARAMETER_STATUS || this.type === BE_READY_FOR_QUERY ? [] : null;
      }
      const n = Math.min(this.remaining, chunk.length - at);
      if (this.body !== null && n > 0) this.body.push(chunk.subarray(at, at + n));
      this.remaining -= n;
      at += n;
      if (this.remaining === 0) {
        const body = this.body === null ? null : Buffer.concat(this.body);
        this.headerLength = 0;
        this.body = null;
        onMessage(this.type, body);
      }
    }
  }
}
