// Statements the pooler runs on a server connection on its own behalf, replies hidden from every
// client: the reset before a connection is reused (resetServer: DISCARD ALL, preceded by the
// capture of the client's settings when they may have changed, frontend/session-settings.ts, or
// for a tenant that pins, DISCARD ALL's parts behind a probe, frontend/pin-probe.ts), and the SETs
// that give a client its own session parameters and settings on checkout (frontend/session-params.ts,
// param-replay.ts). Each is its own Query, all sent in one write (DISCARD ALL cannot run inside a
// transaction block).
// ParameterStatus replies keep the connection's parameter map current. A connection that does
// not come back clean in time is closed instead.
import { BE_COMMAND_COMPLETE, BE_DATA_ROW, BE_ERROR_RESPONSE, BE_PARAMETER_STATUS, BE_READY_FOR_QUERY, TX_IDLE } from '../net/codes.ts';
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parseErrorFields, parseParameterStatus } from '../net/parse.ts';
import { endsAllStatements, endsServerStatements } from '../prepared/registry.ts';
import type { DisconnectReason } from '../errors.ts';
import type { ServerConnection, ServerLink } from './server.ts';
import { settingsToApply } from '../frontend/session-params.ts';
import { probeQuery, probeVerdict, RESET_PARTS, type PinProbe } from '../frontend/pin-probe.ts';
import { DISCARD_AHEAD } from './reset-ahead.ts';
import { CAPTURE_QUERY, capturedSettings, NO_SETTINGS, restoreAfterReset, type CaptureResult } from '../frontend/session-settings.ts';

/**
 * The pool as the reset sees it: where a clean connection goes back, and the key settings maps
 * are interned under (session-settings.ts). Not backend/pool.ts's class: the pool calls the reset
 * (a parked connection reclaimed), so importing it back would make the two files a cycle.
 */
export interface ResetPool {
  release(server: ServerConnection): void;
  /** The connection released next goes straight to a waiting client whose queued bytes may ride behind a reset (reset-ahead.ts). */
  handsToRider?(): boolean;
}

const HIDDEN_TIMEOUT_MS = 5000;

/** How runHidden's statements went. */
export interface HiddenOutcome {
  /** Every statement answered without error and the connection is idle ('I'). */
  ok: boolean;
  /** The fields of the first ErrorResponse, when a statement failed. */
  error?: Record<string, string>;
  /** Index of the query that failed first (with `error`). */
  errorAt?: number;
  /** Queries answered (ReadyForQuery), in order. */
  answered: number;
}

/**
 * Runs `queries` on an otherwise unlinked server connection and calls `done` once every one has
 * answered with ReadyForQuery. Each query is its own Query message (its own implicit transaction),
 * all sent in one write. A connection that does not come back clean ('I', nothing more buffered)
 * is closed; with `keepOnError`, one whose statements the server merely refused (ErrorResponse,
 * then ReadyForQuery 'I') stays open for the caller to release. `onParameter` sees each
 * ParameterStatus the server reports; `onRow` each DataRow, with the index of the query it answers.
 */
export function runHidden(
  server: ServerConnection,
  queries: string[],
  done: (outcome: HiddenOutcome) => void,
  onParameter?: (name: string, value: string) => void,
  keepOnError = false,
  onRow?: (query: number, fields: (string | null)[]) => void,
): void {
  let awaiting = queries.length;
  let error: Record<string, string> | undefined;
  let errorAt = 0;
  const framer = new MessageFramer(64 * 1024 * 1024);
  const timer = setTimeout(() => finish(false), HIDDEN_TIMEOUT_MS);
  let finished = false;
  /** `clean`: the connection is idle and at a message boundary (whether or not a statement failed). */
  function finish(clean: boolean): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (server.link === link) server.link = null;
    if (!clean || (error !== undefined && !keepOnError)) server.close('reset_failed');
    const outcome: HiddenOutcome = { ok: clean && error === undefined && !server.closed, answered: queries.length - awaiting };
    if (error !== undefined) {
      outcome.error = error;
      outcome.errorAt = errorAt;
    }
    done(outcome);
  }
  const link: ServerLink = {
    onServerData(chunk) {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m !== undefined; m = framer.next()) {
          if (m.type === BE_PARAMETER_STATUS) {
            const p = parseParameterStatus(m.body);
            server.params.set(p.name, p.value);
            server.paramsFor = null;
            onParameter?.(p.name, p.value);
          } else if (m.type === BE_DATA_ROW) {
            onRow?.(queries.length - awaiting, dataRowFields(m.body));
          } else if (m.type === BE_ERROR_RESPONSE) {
            if (error === undefined) {
              error = parseErrorFields(m.body);
              errorAt = queries.length - awaiting;
            }
          } else if (m.type === BE_COMMAND_COMPLETE) {
            const tag = m.body.toString('latin1', 0, m.body.length - 1);
            if (endsAllStatements(tag)) server.statements.clear();
            else if (endsServerStatements(tag)) server.statements.forgetUnsure();
          } else if (m.type === BE_READY_FOR_QUERY) {
            awaiting--;
            if (awaiting === 0) finish(m.body[0] === TX_IDLE && framer.buffered === 0);
          }
        }
      } catch {
        finish(false);
      }
    },
    onServerClosed(_server: ServerConnection, _reason: DisconnectReason) {
      finish(false);
    },
  };
  server.link = link;
  server.socket.write(queries.length === 1 ? msg.query(queries[0]!) : Buffer.concat(queries.map((q) => msg.query(q))));
}

/** A DataRow's fields as text (NULL as null). */
function dataRowFields(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  const out: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.toString('utf8', at, at + len));
      at += len;
    }
  }
  return out;
}

// ---- the reset between clients -----------------------------------------------------------

/**
 * Cleans a server connection whose client is done with it, then returns it to the pool: ROLLBACK
 * when a transaction is open, then DISCARD ALL, then one Query setting the tracked parameters and
 * the session settings the connection had back (they follow each client, session-params.ts and
 * session-settings.ts: the next client with the same values needs no SET at checkout) — one
 * write, one round trip. The connection goes back only
 * once all of it has answered: should the reset fail (a statement_timeout or lock the client left
 * behind, a cancel arriving late), the connection is closed and nothing of another client has
 * been sent on it.
 *
 * DISCARD ALL is PostgreSQL's own complete reset: role and session authorization, every setting
 * (also those set with set_config in a SELECT or a DO block), temporary tables, advisory locks,
 * LISTEN, prepared statements, cursors, sequence state and cached plans. It also drops the
 * pooler's own named statements: the connection forgets them when the server reports DISCARD ALL
 * (runHidden), and they are prepared again when next used.
 *
 * In transaction mode this runs after every transaction that ran anything at all (`dirty`: a
 * statement executed, a portal bound, a function called, an error): a client can hide session
 * state in a SELECT or a DO block, so no statement counts as harmless. Session mode resets when
 * the client leaves (`discardAll`). docs/transaction-mode.md has the measured cost.
 *
 * `capture` (a transaction-mode client that stays, whose transaction may have changed a setting):
 * the session's settings are read first, in the same write, and handed to it before the
 * connection can go to anyone. `probe` (its tenant pins): the reset is one Query, probe first; a
 * probe's verdict keeps the connection out of the pool for the client (frontend/pin.ts).
 */
export function resetServer(
  server: ServerConnection,
  pool: ResetPool,
  what: { rollback: boolean; discardAll: boolean },
  capture?: (result: CaptureResult) => void,
  probe?: PinProbe,
): void {
  // A cancel still travelling would stop the next client's query: hold the slot until it is in
  // (PostgreSQL ignores a cancel that reaches an idle backend). Bounded by the cancel's timeout.
  if (server.cancelsInFlight > 0) {
    // Unlinked meanwhile: what an idle backend may still send (a notice, its FATAL on termination)
    // is handled as for any idle connection, not by the client that has left it.
    server.link = null;
    server.afterCancels = () => {
      if (!server.closed) resetServer(server, pool, what, capture, probe);
      else {
        capture?.(null);
        probe?.clean(true);
      }
    };
    return;
  }
  // The client's transaction may have changed a session setting: read them first, in the same
  // write (frontend/session-settings.ts). Only a client that stays (transaction mode) asks.
  const capturing = capture !== undefined && server.settingsChanged;
  server.settingsChanged = false;
  // Nothing ran (a Parse or Describe only, an empty query): nothing to clean.
  if (!capturing && !what.rollback && !what.discardAll && !server.dirty) {
    probe?.clean(false);
    pool.release(server);
    return;
  }
  server.dirty = false;
  const queries = what.rollback ? ['ROLLBACK'] : [];
  const captureAt = queries.length;
  if (capturing) queries.push(CAPTURE_QUERY);
  const resetAt = queries.length;
  // The SETs giving the connection its tracked parameters back, remembered per connection for the
  // client parameter map it matched (shared and immutable, session-params.ts): connections differ
  // in their defaults (the application_name each opened under, pool.ts openServer; a new target's).
  const matched = server.paramsFor;
  let restore: string | null;
  if (matched !== null && server.restoreFor === matched) restore = server.restoreSql;
  else {
    const sets = settingsToApply(server.params, server.defaults);
    restore = sets.length === 0 ? null : sets.join('; ');
    if (matched !== null) {
      server.restoreFor = matched;
      server.restoreSql = restore;
    }
  }
  // The last client's session settings back too (not when they are being read: they are known
  // only once the capture answers, and the next checkout applies them).
  const settings = capturing ? { sql: '', kept: NO_SETTINGS } : restoreAfterReset(pool, server.session);
  if (settings.sql !== '') restore = restore === null ? settings.sql : `${restore}; ${settings.sql}`;
  // Someone waits: DISCARD ALL goes ahead of its request, in the same write (reset-ahead.ts) —
  // when the reset is DISCARD ALL alone (nothing to roll back, read, probe or restore after it).
  if (probe === undefined && !capturing && !what.rollback && !what.discardAll && restore === null && settings.sql === '' && server.resetsAhead && pool.handsToRider?.() === true) {
    server.session = settings.kept;
    // Its replies clear the pooler's statements on the connection only once they are in; the
    // client that takes it must not count on any now.
    server.statements.clear();
    const socket = server.socket;
    socket.cork();
    server.sendResetAhead(DISCARD_AHEAD);
    pool.release(server);
    socket.uncork();
    return;
  }
  if (probe === undefined) {
    queries.push('DISCARD ALL');
    if (restore !== null) queries.push(restore);
  } else {
    // One Query, one implicit transaction: the probe's error skips the reset and the restore
    // (frontend/pin.ts).
    const cursors = probe.cursors || server.cursorDeclared;
    queries.push(`${probeQuery(probe.policy, probe.full, cursors)}; ${RESET_PARTS}${restore === null ? '' : `; ${restore}`}`);
  }
  const before = server.session;
  server.session = NO_SETTINGS;
  const rows: (string | null)[][] = [];
  runHidden(
    server,
    queries,
    (outcome) => {
      if (outcome.ok) server.session = settings.kept;
      // The client learns its settings before the connection can go to anyone (it may be waiting).
      // The capture stands when it answered without error, whatever came after it.
      if (capturing) capture!(outcome.answered > captureAt && (outcome.error === undefined || outcome.errorAt! > captureAt) ? capturedSettings(pool, rows) : null);
      if (probe === undefined) {
        if (outcome.ok) pool.release(server);
        return;
      }
      if (outcome.ok) {
        server.cursorDeclared = false;
        probe.clean(false);
        return pool.release(server);
      }
      const verdict = outcome.error !== undefined && outcome.errorAt === resetAt && !server.closed ? probeVerdict(outcome.error) : null;
      if (verdict === null) {
        // The reset itself failed: the connection cannot be trusted (as for DISCARD ALL).
        server.close('reset_failed');
        return probe.clean(true);
      }
      // Nothing was reset: the connection still has what the client left, settings included.
      server.session = before;
      // A temporary schema exists: does it hold anything? (A second round trip, only for sessions
      // that once created a temporary table.)
      if (verdict === 'temp_schema') return resetServer(server, pool, AGAIN, undefined, { ...probe, full: true });
      probe.pinned(server, verdict);
    },
    undefined,
    probe !== undefined,
    capturing ? (query, fields) => query === captureAt && rows.length <= 200 && rows.push(fields) : undefined,
  );
}

/** The second probe's reset: nothing to roll back; `discardAll` so that it runs although nothing is dirty any more. */
const AGAIN = { rollback: false, discardAll: true } as const;

