// The few server messages that change what the pooler must know about a client's session, looked
// into on their way to the client. One per client; both the fast path (client.ts) and the session
// of a client with named prepared statements (prepared-session.ts) report server messages here:
// - ParameterStatus keeps the client's and the server's parameter maps; a tracked parameter that
//   went back to the server connection's default (RESET, DISCARD ALL) is reported to the client as
//   its own default instead (session-params.ts);
// - CommandComplete "SET"/"RESET"/"DISCARD ALL" (and any ParameterStatus): a session setting may
//   have changed, the reset reads them back for the client (session-settings.ts);
//   "DISCARD ALL"/"DEALLOCATE": the server's prepared statements are gone; "LISTEN"/"UNLISTEN" in
//   transaction mode: passed when it answers a statement the pooler forwarded and tracks
//   (notify-client.ts), else refused with 0A000 (the pooler cannot know its channel; the reset
//   undoes it before the connection is reused); "ROLLBACK": a staged LISTEN/UNLISTEN is dropped;
// - ErrorResponse: SQLSTATEs that hint at a failover; a FATAL before the server hangs up is held
//   for the client's onServerClosed; the server's 57014 for a query the pooler cancelled at
//   query_timeout is told as QUERY_TIMEOUT (docs/errors.md), as PostgreSQL tells its own
//   statement_timeout apart from a user's cancel.
// A message a TCP read split is completed from the next read(s) (split-capture.ts) and inspected
// late: too late to be rewritten, in time for the state it changes.
import type { Pool } from '../backend/pool.ts';
import type { ServerConnection } from '../backend/server.ts';
import * as codes from '../net/codes.ts';
import { encodeErrorFields } from '../net/extended.ts';
import * as msg from '../net/messages.ts';
import { parseErrorFields, parseParameterStatus } from '../net/parse.ts';
import { endsAllStatements, endsServerStatements } from '../prepared/registry.ts';
import { TRACKED_PARAMETERS, withParam } from './session-params.ts';
import { SplitCapture } from './split-capture.ts';
import { PORTAL_GONE_ERROR, isPortalGoneRefusal } from './unnamed-portal.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
const BE_COMMAND_COMPLETE = codes.BE_COMMAND_COMPLETE;
const BE_ERROR_RESPONSE = codes.BE_ERROR_RESPONSE;
const BE_PARAMETER_STATUS = codes.BE_PARAMETER_STATUS;

const TRACKED: ReadonlySet<string> = new Set(TRACKED_PARAMETERS);
const EMPTY = Buffer.alloc(0);
const QUERY_CANCELED = '57014';

const LISTEN_HINT = 'send LISTEN/UNLISTEN as a Query (or a prepared statement) holding that one statement, as node-postgres, psycopg and asyncpg do';
const LISTEN_REFUSED = msg.errorResponse({
  severity: 'ERROR',
  code: '0A000',
  message: 'LISTEN is supported in transaction pooling mode only as a statement of its own',
  detail: 'the pooler listens for the client on a shared connection and must know the channel; this LISTEN, among other statements of one Query, was undone',
  hint: LISTEN_HINT,
});
const UNLISTEN_REFUSED = msg.errorResponse({
  severity: 'ERROR',
  code: '0A000',
  message: 'UNLISTEN is supported in transaction pooling mode only as a statement of its own',
  detail: 'the pooler listens for the client on a shared connection and must know the channel; the client still listens',
  hint: LISTEN_HINT,
});
/**
 * For a LISTEN whose CommandComplete reached the client before the pooler could refuse it (it was
 * split across reads, see inspectLate): a warning, as notices may come at any time (protocol
 * docs, "Asynchronous Operations"), since the success cannot be taken back.
 */
const LISTEN_UNDONE_NOTICE = msg.noticeResponse({
  severity: 'WARNING',
  code: '0A000',
  message: 'LISTEN is supported in transaction pooling mode only as a statement of its own',
  detail: 'the pooler listens for the client on a shared connection and must know the channel; this LISTEN will be undone and no notification will arrive',
  hint: LISTEN_HINT,
});

/**
 * A PREPARE the pooler did not map (sql-prepare.ts maps only a PREPARE sent as a query of its own,
 * by simple query): its CommandComplete, then a warning that the statement is the server
 * connection's and goes with the reset at the end of the transaction.
 */
const PREPARE_NOT_KEPT = Buffer.concat([
  msg.commandComplete('PREPARE'),
  msg.noticeResponse({
    severity: 'WARNING',
    code: '01000',
    message: 'this prepared statement is not kept beyond the transaction in transaction pooling mode',
    detail: 'only a PREPARE sent by simple query as a query of its own is kept for the client across transactions',
    hint: 'send PREPARE as a query of its own',
  }),
]);

/** The client connection, as the inspector sees it. */
export interface InspectedClient {
  readonly server: ServerConnection | null;
  readonly pool: Pool | null;
  readonly transactionMode: boolean;
  /** Stand-in Parses whose refusal is answered as 34000 (unnamed-portal.ts). */
  portalGone: number;
  readonly defaults: ReadonlyMap<string, string>;
  params: ReadonlyMap<string, string>;
  /** A client with named prepared statements: its names (prepared-session.ts). */
  readonly prepared: { readonly statements: { clear(): void } } | null;
  /** Otherwise its fast path, which can place a message of the pooler's in a server chunk (fast-path.ts). */
  readonly fast: { insertReply(at: number, reply: Buffer): void };
  /** Transaction mode, once it used LISTEN/UNLISTEN (notify-client.ts). */
  readonly listens: { ranTag(listen: boolean): boolean; rollback(): void; readonly channelCount: number } | null;
}

/**
 * The server messages inspect() looks into: ParameterStatus, ErrorResponse, and CommandComplete for
 * SET/RESET/ROLLBACK, DISCARD/DEALLOCATE, PREPARE, LISTEN and UNLISTEN (length 13: not every UPDATE).
 */
function inspectable(type: number, first: number, length: number): boolean {
  if (type === BE_COMMAND_COMPLETE) {
    return first === 0x44 /* D */ || first === 0x53 /* S */ || first === 0x52 /* R */ || first === 0x4c /* L */ || first === 0x50 /* P */ || (first === 0x55 /* U */ && length === 13);
  }
  return type === BE_PARAMETER_STATUS || type === BE_ERROR_RESPONSE;
}

export class ReplyInspector {
  private readonly client: InspectedClient;
  /** An inspected server message that a read split, completed from the next read(s). */
  private split: SplitCapture | null = null;
  /** A FATAL ErrorResponse the linked server sent just before closing (transaction mode). */
  private fatal: Buffer | null = null;
  /** The server whose running query the pooler cancelled at query_timeout, and that timeout (s). */
  private cancelled: ServerConnection | null = null;
  private cancelledAfter = 0;

  constructor(client: InspectedClient) {
    this.client = client;
  }

  /**
   * Completes a split message from the start of the next server chunk (before anything in the
   * chunk is inspected: what it changes must be known first).
   */
  feedSplit(chunk: Buffer): void {
    const split = this.split;
    if (split === null) return;
    const end = split.missing;
    if (split.feed(chunk)) this.inspectLate(split, end);
  }

  /** The server connection went: a capture of its bytes means nothing any more. */
  unlinked(): void {
    this.split = null;
  }

  /** The FATAL the server sent before hanging up, if any (taken: asked once per server). */
  takeFatal(): Buffer | null {
    const f = this.fatal;
    this.fatal = null;
    return f;
  }

  /** The pooler cancelled `server`'s running query at query_timeout (`seconds`): its 57014 says so. */
  cancelledForTimeout(server: ServerConnection, seconds: number): void {
    this.cancelled = server;
    this.cancelledAfter = seconds;
  }

  /**
   * A ReadyForQuery came (or no request is outstanding): the request the pooler cancelled has
   * ended — its 57014 comes before its ReadyForQuery — so a later 57014 is not the pooler's
   * (PostgreSQL's statement_timeout, the user's own cancel) and is passed as the server wrote it.
   */
  requestsDone(): void {
    this.cancelled = null;
  }

  /**
   * inspect() for a message whole in `chunk`; for one a read split, starts a SplitCapture that
   * feedSplit completes from the next read(s) and inspects late. Returns a replacement for the
   * message (EMPTY to drop it), or null to pass it.
   */
  inspectOrCapture(type: number, first: number, start: number, length: number, chunk: Buffer): Buffer | null {
    if (start >= 0 && start + 1 + length <= chunk.length) return this.inspect(type, first, start, length, chunk);
    if (inspectable(type, first, length)) {
      const c = SplitCapture.begin(type, first, start, length, chunk);
      // Whole in this chunk after all when its header was in the last one.
      if (c?.complete) this.inspectLate(c, start + 1 + length);
      else this.split = c;
    }
    return null;
  }

  private inspect(type: number, first: number, start: number, length: number, chunk: Buffer): Buffer | null {
    if (!inspectable(type, first, length)) return null;
    if (start < 0 || start + 1 + length > chunk.length) return null;
    const body = chunk.subarray(start + 5, start + 1 + length);
    const c = this.client;
    const server = c.server;
    try {
      if (type === BE_PARAMETER_STATUS) return this.onParameterStatus(body);
      if (type === BE_COMMAND_COMPLETE) {
        const tag = body.toString('latin1', 0, body.length - 1);
        // A session setting may have changed: the reset reads them (session-settings.ts).
        if (server !== null && (tag === 'SET' || tag === 'RESET' || tag === 'DISCARD ALL')) server.settingsChanged = true;
        else if (tag === 'DECLARE CURSOR' && server !== null) server.cursorDeclared = true;
        if (endsServerStatements(tag)) {
          // However it was sent (simple query or extended protocol), it ends the client's names too.
          if (endsAllStatements(tag)) {
            server?.statements.clear();
            c.prepared?.statements.clear();
          } else server?.statements.forgetUnsure();
        } else if ((tag === 'LISTEN' || tag === 'UNLISTEN') && c.transactionMode && server !== null) {
          const l = c.listens;
          // A LISTEN/UNLISTEN the pooler forwarded and tracks (notify-client.ts): the server's reply stands.
          if (l !== null && l.ranTag(tag === 'LISTEN')) return null;
          // Else undone by the DISCARD ALL at release (the CommandComplete marked the connection dirty).
          if (tag === 'LISTEN') return LISTEN_REFUSED;
          if (l !== null && l.channelCount > 0) return UNLISTEN_REFUSED;
        } else if (tag === 'PREPARE' && c.transactionMode && server !== null) {
          return PREPARE_NOT_KEPT;
        } else if (tag === 'ROLLBACK') c.listens?.rollback();
        return null;
      }
      const f = parseErrorFields(body);
      c.listens?.rollback();
      if (c.portalGone > 0 && isPortalGoneRefusal(f)) {
        c.portalGone--;
        return PORTAL_GONE_ERROR;
      }
      if (f.C !== undefined) c.pool?.onServerSqlstate(f.C);
      if (c.transactionMode && (f.S === 'FATAL' || f.S === 'PANIC')) {
        // The server is about to hang up (admin shutdown, failover): the client decides nothing
        // from this message; onServerClosed answers it instead (and may keep the client).
        this.fatal = Buffer.from(chunk.subarray(start, start + 1 + length));
        return EMPTY;
      }
      if (f.C === QUERY_CANCELED && this.cancelled !== null && this.cancelled === server) return this.queryTimeout(f);
    } catch {
      // Malformed: forwarded as the server sent it, not inspected.
    }
    return null;
  }

  /** The server's "canceling statement due to user request" for the pooler's own cancel. */
  private queryTimeout(f: Record<string, string>): Buffer {
    const seconds = this.cancelledAfter;
    this.cancelled = null;
    // QUERY_TIMEOUT in docs/errors.md; worded as PostgreSQL words its statement_timeout.
    f.M = 'canceling statement due to query timeout';
    f.D = `the query ran for more than ${seconds} s (pool.query_timeout)`;
    return encodeErrorFields(BE_ERROR_RESPONSE, f);
  }

  /**
   * Inspects a message whose bytes have already gone to the client (it was split across reads):
   * the state it changes is recorded (a SET marks the connection for RESET ALL, DISCARD ends the
   * statements, a ParameterStatus updates the maps, a SQLSTATE reaches the pool), but a rewrite it
   * would have had is not possible any more, and a FATAL that already reached the client is not
   * answered a second time. A LISTEN that got through gets a WARNING instead of the refusal.
   */
  private inspectLate(c: SplitCapture, end: number): void {
    this.split = null;
    const fatal = this.fatal;
    const replacement = this.inspect(c.type, c.first, 0, c.bytes.length - 1, c.bytes);
    if (replacement === null) return;
    this.fatal = fatal;
    // The client was told LISTEN succeeded: at least warn it (the server side is still undone),
    // right where the message ends in the current chunk (`end`). Fast path only: a prepared
    // session re-frames its output and gets no notice.
    if (replacement === LISTEN_REFUSED && this.client.prepared === null) this.client.fast.insertReply(end, LISTEN_UNDONE_NOTICE);
  }

  private onParameterStatus(body: Buffer): Buffer | null {
    const p = parseParameterStatus(body);
    const c = this.client;
    const server = c.server;
    if (server !== null) {
      server.params.set(p.name, p.value);
      server.paramsFor = null;
      server.settingsChanged = true;
    }
    let value = p.value;
    if (server !== null && TRACKED.has(p.name) && value === server.defaults.get(p.name)) {
      // Back to the server connection's default: for this client that is its own default.
      value = c.defaults.get(p.name) ?? value;
    }
    const before = c.params.get(p.name);
    c.params = withParam(c.params, p.name, value);
    if (value === p.value) return null;
    return value === before ? EMPTY : msg.parameterStatus(p.name, value);
  }
}

/**
 * What a client that outlives its server connection is told: the FATAL the server sent before it
 * hung up, as an ERROR (the client's session goes on), or 08006.
 */
export function serverLostError(fatal: Buffer | null, reason: string): Buffer {
  if (fatal !== null) return downgradeFatal(fatal);
  return msg.errorResponse({ severity: 'ERROR', code: '08006', message: 'the server connection was lost', detail: `reason: ${reason}` });
}

function downgradeFatal(fatal: Buffer): Buffer {
  try {
    const f = parseErrorFields(fatal.subarray(5));
    f.S = 'ERROR';
    if (f.V !== undefined) f.V = 'ERROR';
    return encodeErrorFields(BE_ERROR_RESPONSE, f);
  } catch {
    return msg.errorResponse({ severity: 'ERROR', code: '08006', message: 'the server connection was lost' });
  }
}
