// The session of a transaction-mode client that uses named prepared statements (it starts at the
// client's first named Parse, client.ts startPreparedSession). Its messages are framed one by one
// so statement names can be rewritten (a client's names map to its tenant's shared statements,
// prepared/registry.ts, each prepared under a server name on each server connection that needs
// it), and every request is matched to its reply through a queue of outstanding requests
// (prepared-queue.ts), so replies the pooler answers itself (Parse of a statement the server
// already has, Close) appear exactly where the server's would, and replies to messages the pooler
// injected (a Parse replayed before Bind/Describe, the Close of an evicted statement) are hidden
// (prepared-replies.ts, the server → client half). Protocol docs, "Extended Query" and "Message
// Flow": one reply per Parse, Bind, Describe, Close and Execute; after an ErrorResponse the server
// discards messages until Sync.
import type { ServerConnection } from '../backend/server.ts';
import { PoolerError } from '../errors.ts';
import * as codes from '../net/codes.ts';
import { CLOSE_COMPLETE, PARSE_COMPLETE, decodeBindNames, decodeParse, decodeTarget, encodeBindRenamed, encodeParse, encodeTarget } from '../net/extended.ts';
import { MessageFramer, ProtocolError, type Message } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { ClientStatements } from '../prepared/client-names.ts';
import type { Statement, StatementRegistry } from '../prepared/registry.ts';
import type { PreparedSessionHost } from './prepared-host.ts';
import * as entryKinds from './prepared-queue.ts';
import { RequestQueue } from './prepared-queue.ts';
import { PreparedReplies } from './prepared-replies.ts';
import * as states from './client-state.ts';
import { interceptSqlPrepare, type SqlPrepareSession } from './sql-prepare.ts';
import * as portal from './unnamed-portal.ts';
import { PORTAL_GONE_PARSE, unnamedPortalSafe } from './unnamed-portal.ts';
import type { ListenFailure } from '../backend/listener.ts';
import { mayBeNotifyStatement, parseNotifyStatement, startsLikeNotify, stringStartsLikeNotify } from './notify-statement.ts';
import { raiseStatement } from './notify-run.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
/** listenGate: the message waits for the tenant's listener. */
const WAIT = 1;
const FE_BIND = codes.FE_BIND;
const FE_CLOSE = codes.FE_CLOSE;
const FE_COPY_DATA = codes.FE_COPY_DATA;
const FE_COPY_DONE = codes.FE_COPY_DONE;
const FE_COPY_FAIL = codes.FE_COPY_FAIL;
const FE_DESCRIBE = codes.FE_DESCRIBE;
const FE_EXECUTE = codes.FE_EXECUTE;
const FE_FLUSH = codes.FE_FLUSH;
const FE_FUNCTION_CALL = codes.FE_FUNCTION_CALL;
const FE_PARSE = codes.FE_PARSE;
const FE_QUERY = codes.FE_QUERY;
const FE_SYNC = codes.FE_SYNC;
const FE_TERMINATE = codes.FE_TERMINATE;
const TARGET_PORTAL = codes.TARGET_PORTAL;
const TARGET_STATEMENT = codes.TARGET_STATEMENT;
const SERVER_BROKEN = states.SERVER_BROKEN;
const CHUNK_PASSED = states.CHUNK_PASSED;
const RELEASE_DUE = states.RELEASE_DUE;
const PORTAL_BATCH = portal.PORTAL_BATCH;
const PORTAL_EARLIER = portal.PORTAL_EARLIER;
const PORTAL_NONE = portal.PORTAL_NONE;
const BARRIER = entryKinds.BARRIER;
const DUPLICATE = entryKinds.DUPLICATE;
const HIDE = entryKinds.HIDE;
const LOCAL = entryKinds.LOCAL;
const PASS = entryKinds.PASS;
const SYNC = entryKinds.SYNC;

export type { PreparedSessionHost } from './prepared-host.ts';

const DISCARD_ALL = /^\s*discard\s+all\s*;?\s*$/i;

/**
 * A Parse refused for the tenant's statement budget (or a message refused for a name prepared with
 * SQL PREPARE) goes to the server as this Parse, which fails
 * there with a syntax error (42601), so the transaction state and the skip to Sync are the
 * server's own; the client gets 53400 instead (budgetError, told by prepared-replies.ts). Named:
 * the client's unnamed statement stays; nothing is defined. The text is what the server's log shows.
 */
const REFUSED_PARSE = encodeParse('sy_refused', Buffer.from('SWITCHYARD_PREPARED_STATEMENT_BUDGET_EXCEEDED\0\0\0', 'latin1'));

/** The answer to a Parse refused for the tenant's statement budget (docs/errors.md). */
function budgetError(budget: number): Buffer {
  const e = new PoolerError(
    'PREPARED_STATEMENTS_BUDGET',
    `prepared statements of this tenant exceed their memory budget (prepared_statements.max_bytes_per_tenant = ${budget} bytes)`,
    {
      detail: 'the statement was not prepared: statements the tenant\'s clients still use fill the budget',
      hint: 'close (deallocate) prepared statements that are no longer needed, or ask the operator to raise the budget',
    },
  );
  return msg.errorResponse({ severity: 'ERROR', code: e.sqlstate, message: e.message, detail: e.detail, hint: e.hint });
}

/** Bind/Describe of a statement the client prepared with SQL PREPARE (docs/errors.md SQL_PREPARE_NOT_MAPPED). */
function sqlPreparedRefused(name: string, what: string): Buffer {
  const e = new PoolerError('SQL_PREPARE_NOT_MAPPED', `prepared statement "${name}" was prepared with SQL PREPARE: ${what} of it is not supported in transaction pooling mode`, {
    hint: 'use EXECUTE, or prepare it with the extended protocol (Parse)',
  });
  return msg.errorResponse({ severity: 'ERROR', code: e.sqlstate, message: e.message, hint: e.hint });
}

/** A named Parse behind extended-protocol messages still awaiting replies with no Sync after them. */
export function namedParseTooLate(): PoolerError {
  // Their replies have no boundary the session could wait for: refuse clearly rather than guess.
  // (Once their replies have arrived — a Flush-terminated batch — the session starts cleanly.)
  return new PoolerError('FEATURE_NOT_SUPPORTED', 'a named Parse arrived while unsynchronized extended-protocol messages were in flight', {
    hint: 'send Sync before the first named prepared statement',
  });
}

export class PreparedSession implements SqlPrepareSession {
  readonly host: PreparedSessionHost;
  readonly framer: MessageFramer;
  /** The client's statement names → its tenant's shared statements. */
  readonly statements: ClientStatements;
  /** Client names whose Parse has not been answered yet (a pipelined re-Parse replaces them). */
  readonly unconfirmed = new Set<string>();
  /** Requests awaiting replies, in the server's order. */
  readonly queue = new RequestQueue();
  /** The server → client half. */
  private readonly replies: PreparedReplies;
  private lastBound: Statement | null = null;
  private lastBoundName: string | null = null;
  /**
   * LISTEN/UNLISTEN in transaction mode (notify-client.ts): the unnamed statement's text when it
   * may be one, whether the last Bind was of the unnamed statement, and the message held while the
   * tenant's listener gets ready for its channel (with the outcome once it is: undefined before).
   */
  private unnamedText: Buffer | null = null;
  private lastBoundUnnamed = false;
  private held: Message | null = null;
  private heldOutcome: ListenFailure | null | undefined = undefined;

  constructor(host: PreparedSessionHost, registry: StatementRegistry, maxMessageSize: number, inFlight: number) {
    this.host = host;
    this.framer = new MessageFramer(maxMessageSize);
    this.statements = new ClientStatements(registry);
    this.replies = new PreparedReplies(host, this.queue, this.statements, this.unconfirmed, this.framer);
    if (inFlight > 0) this.queue.push(BARRIER, 0, null, null, null, false, inFlight);
  }

  /** Requests whose replies are still awaited. */
  get outstanding(): number {
    return this.queue.length;
  }

  /**
   * Scans a server chunk, hiding and inserting replies, and writes the client's share:
   * SERVER_BROKEN, CHUNK_PASSED or RELEASE_DUE (client-state.ts).
   */
  onServerData(chunk: Buffer, server: ServerConnection): number {
    let bufs: Buffer[];
    try {
      bufs = this.replies.onServerData(chunk, server);
    } catch {
      server.close('server_error');
      return SERVER_BROKEN;
    }
    const h = this.host;
    h.flow.toClient(bufs);
    if (h.flow.throttled) h.flow.unthrottle();
    // A ReadyForQuery left the client between transactions with nothing outstanding.
    if (!this.replies.idleAfterChunk) return CHUNK_PASSED;
    h.transactions++;
    return h.transactionMode || h.closeAfter !== null ? RELEASE_DUE : CHUNK_PASSED;
  }

  // ---- client → server --------------------------------------------------------------------

  onClientData(chunk: Buffer): void {
    try {
      this.framer.push(chunk);
    } catch (err) {
      // An impossible length: what went before it reached the server whole, but not this chunk's start.
      if (!(err instanceof ProtocolError)) throw err;
      return this.host.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation', false);
    }
    if (this.host.server !== null) this.drain();
    else if (this.framer.buffered > 0) this.host.requestServer();
  }

  /**
   * Processes every complete client message against the attached server connection. A malformed
   * message (an impossible length, an unterminated name) ends the client with FATAL 08P01 here:
   * drain() also runs when a server connection is handed over by another client's release
   * (client.ts linkServer), where nothing above would catch the error and the process would die.
   */
  drain(): void {
    try {
      this.drainMessages();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.host.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation', true);
    }
  }

  private drainMessages(): void {
    const server = this.host.server;
    if (server === null) return;
    // A reset sent ahead has not answered (backend/reset-ahead.ts): nothing may follow it until it
    // has (a failed reset skips only to the next Sync); client.ts onResetAnswered drains again.
    if (server.resetAhead !== null) return server.flushReset();
    // A LISTEN waiting for the tenant's listener: the client's messages wait behind it.
    if (this.held !== null && this.heldOutcome === undefined) return;
    const out: Buffer[] = [];
    for (let m = this.held ?? this.framer.next(); m !== undefined; m = this.framer.next()) {
      if (m.type === FE_TERMINATE) {
        if (out.length > 0) this.host.flow.toServer(out);
        this.host.terminate();
        return;
      }
      if (!this.handleClientMessage(m, server, out)) {
        if (this.held !== null && out.length > 0) this.host.flow.toServer(out);
        return;
      }
    }
    if (out.length > 0) this.host.flow.toServer(out);
    // Local replies at the head of the queue are due now if the server owes nothing before them.
    this.replies.emitDueLocals(server);
  }

  private handleClientMessage(m: Message, server: ServerConnection, out: Buffer[]): boolean {
    switch (m.type) {
      case FE_PARSE: {
        const { name, rest } = decodeParse(m.body);
        if (name === '') {
          this.unnamedText = this.host.transactionMode && rest.length > 0 && mayBeNotifyStatement(rest[0]!) && startsLikeNotify(rest, 0, rest.length) ? rest : null;
          // The unnamed statement outlives the transaction: reset before the next client (fast-path.ts).
          server.dirty = true;
          out.push(m.raw);
          this.queue.push(PASS, FE_PARSE, null, null, null);
          break;
        }
        const existing = this.statements.get(name);
        if (existing?.sql === true) {
          // A name the client prepared with SQL PREPARE: the protocol cannot prepare that text on
          // a server connection; PostgreSQL's own answer to a second definition of the name.
          this.refuse(out, msg.errorResponse({ severity: 'ERROR', code: '42P05', message: `prepared statement "${name}" already exists` }));
          break;
        }
        if (existing !== undefined && !this.unconfirmed.has(name)) {
          // PostgreSQL refuses a second Parse of a name (42P05). Let the server refuse it too, so
          // the transaction state and the skip to Sync are exactly its own: parse under the
          // existing statement's server name, which that connection is made to have.
          if (!server.statements.has(existing.serverName)) this.prepare(server, existing, out, HIDE, null);
          out.push(encodeParse(existing.serverName, rest));
          this.queue.push(PASS, FE_PARSE, existing, name, null, false, DUPLICATE);
          break;
        }
        const stmt = this.statements.define(name, rest);
        if (stmt === null) {
          out.push(REFUSED_PARSE);
          this.queue.push(PASS, FE_PARSE, null, null, budgetError(this.statements.registry.budgetBytes));
          break;
        }
        this.unconfirmed.add(name);
        if (server.statements.has(stmt.serverName)) this.queue.push(LOCAL, FE_PARSE, stmt, name, PARSE_COMPLETE);
        else this.prepare(server, stmt, out, PASS, name);
        break;
      }
      case FE_BIND: {
        if (m.body[0] === 0) this.host.unnamedPortal = PORTAL_BATCH;
        const b = decodeBindNames(m.body);
        const stmt = b.statement === '' ? undefined : this.statements.get(b.statement);
        if (stmt?.sql === true) {
          this.refuse(out, sqlPreparedRefused(b.statement, 'Bind'));
          break;
        }
        if (stmt === undefined) {
          out.push(m.raw);
          this.queue.push(PASS, FE_BIND, null, null, null);
          this.lastBound = null;
          this.lastBoundName = null;
          this.lastBoundUnnamed = b.statement === '';
          break;
        }
        if (!server.statements.has(stmt.serverName)) this.prepare(server, stmt, out, HIDE, null);
        out.push(encodeBindRenamed(m.body, b.portalEnd, b.statementEnd, stmt.serverName));
        this.queue.push(PASS, FE_BIND, stmt, b.statement, null);
        this.lastBound = stmt;
        this.lastBoundName = b.statement;
        break;
      }
      case FE_DESCRIBE: {
        if (this.portalGone(m, out)) break;
        const t = decodeTarget(m.body);
        const stmt = t.kind === TARGET_STATEMENT && t.name !== '' ? this.statements.get(t.name) : undefined;
        if (stmt?.sql === true) {
          this.refuse(out, sqlPreparedRefused(t.name, 'Describe'));
          break;
        }
        if (stmt === undefined) {
          out.push(m.raw);
          this.queue.push(PASS, FE_DESCRIBE, null, null, null);
          break;
        }
        if (!server.statements.has(stmt.serverName)) this.prepare(server, stmt, out, HIDE, null);
        out.push(encodeTarget(FE_DESCRIBE, TARGET_STATEMENT, stmt.serverName));
        this.queue.push(PASS, FE_DESCRIBE, stmt, t.name, null);
        break;
      }
      case FE_CLOSE: {
        const t = decodeTarget(m.body);
        if (t.kind === TARGET_STATEMENT && t.name !== '') {
          // The server statement stays cached for other clients; closing a name that does not
          // exist is not an error (protocol docs, "Close").
          this.statements.delete(t.name);
          this.queue.push(LOCAL, FE_CLOSE, null, null, CLOSE_COMPLETE);
          break;
        }
        out.push(m.raw);
        this.queue.push(PASS, FE_CLOSE, null, null, null);
        break;
      }
      case FE_EXECUTE:
        if (this.portalGone(m, out)) break;
        if (this.host.transactionMode && this.listenGate(m, this.boundText()) === WAIT) return false;
        out.push(m.raw);
        this.queue.push(PASS, FE_EXECUTE, this.lastBound, this.lastBoundName, null);
        break;
      case FE_SYNC:
      case FE_FUNCTION_CALL:
        if (m.type === FE_SYNC && this.host.unnamedPortal === PORTAL_BATCH) this.host.unnamedPortal = PORTAL_EARLIER;
        out.push(m.raw);
        this.queue.push(SYNC, m.type, null, null, null);
        this.host.pending++;
        break;
      case FE_QUERY:
        // Destroys the unnamed portal (protocol docs, "Extended Query"), even one answered here.
        this.host.unnamedPortal = PORTAL_NONE;
        if (this.host.transactionMode) {
          const gate = this.listenGate(m, m.body);
          if (gate === WAIT) return false;
          if (gate !== null) {
            // Refused (notify-run.ts): a statement raising the error runs in its place.
            out.push(gate);
            this.queue.push(SYNC, FE_QUERY, null, null, null);
            this.host.pending++;
            break;
          }
        }
        if (this.interceptQuery(m.body, server, out)) break;
        out.push(m.raw);
        this.queue.push(SYNC, FE_QUERY, null, null, null);
        this.host.pending++;
        break;
      case FE_FLUSH:
      case FE_COPY_DATA:
      case FE_COPY_DONE:
      case FE_COPY_FAIL:
        out.push(m.raw);
        break;
      default:
        this.host.fail(new PoolerError('PROTOCOL_VIOLATION', `invalid frontend message type ${m.type}`), 'protocol_violation', true);
        return false;
    }
    return true;
  }

  /** The text (NUL-terminated) of the statement the last Bind used, when it may be a LISTEN/UNLISTEN. */
  private boundText(): Buffer | null {
    const s = this.lastBound;
    if (s === null) return this.lastBoundUnnamed ? this.unnamedText : null;
    return mayBeNotifyStatement(s.key.charCodeAt(0)) && stringStartsLikeNotify(s.key) ? Buffer.from(s.key, 'latin1') : null;
  }

  /**
   * A Query, or an Execute of a statement, that is one LISTEN/UNLISTEN (notify-client.ts): before
   * it goes to the server the tenant's listener must listen on its channel. Returns WAIT when the
   * message is held until then (drain() resumes with it), a Query to send instead when refused
   * (a simple Query only: an Execute refused goes as is, and its LISTEN is then refused as one the
   * pooler does not track), or null to send it, tracked.
   */
  private listenGate(m: Message, text: Buffer | null): Buffer | null | typeof WAIT {
    if (text === null || text.length === 0 || !mayBeNotifyStatement(text[0]!) || !startsLikeNotify(text, 0, text.length)) return null;
    const end = text.indexOf(0);
    const stmt = parseNotifyStatement(text.toString('utf8', 0, end < 0 ? text.length : end));
    if (stmt === null) return null;
    let outcome: ListenFailure | null | undefined;
    if (this.held === m) {
      outcome = this.heldOutcome;
      this.held = null;
      this.heldOutcome = undefined;
    } else {
      outcome = this.host.listenGate(stmt, (failure) => {
        this.heldOutcome = failure;
        if (this.host.server !== null) this.drain();
        else this.host.requestServer();
      });
      if (outcome === undefined) {
        this.held = m;
        return WAIT;
      }
    }
    if (outcome !== null && outcome !== undefined) return m.type === FE_QUERY ? msg.query(raiseStatement(outcome)) : null;
    // Its ReadyForQuery comes after those owed now (an Execute's: at the Sync that follows).
    this.host.listens!.forwarded(stmt, this.host.pending);
    return null;
  }

  /**
   * An Execute/Describe of '' with no Bind to '' since the last Query on this connection goes as
   * PORTAL_GONE_PARSE, whose refusal the host answers as 34000 (unnamed-portal.ts).
   */
  private portalGone(m: Message, out: Buffer[]): boolean {
    const h = this.host;
    if (unnamedPortalSafe(h.unnamedPortal, h.pending, h.txStatus) || !(m.body.length === (m.type === FE_EXECUTE ? 5 : 2) && m.body[m.type === FE_EXECUTE ? 0 : 1] === 0)) return false;
    if (m.type === FE_DESCRIBE && m.body[0] !== TARGET_PORTAL) return false;
    out.push(PORTAL_GONE_PARSE);
    this.queue.push(PASS, FE_PARSE, null, null, null);
    this.host.portalGone++;
    return true;
  }

  /** Sends `stmt`'s Parse on this server, evicting least recently used statements beyond the limit. */
  private prepare(server: ServerConnection, stmt: Statement, out: Buffer[], kind: number, clientName: string | null): void {
    this.makeRoom(server, out, stmt.serverName);
    out.push(this.statements.registry.parseMessage(stmt));
    server.statements.add(stmt.serverName);
    this.queue.push(kind, FE_PARSE, stmt, clientName, null);
  }

  /**
   * Answers the client's extended-protocol message with `error`, as a failed message: the server
   * gets a Parse that fails, so the skip to Sync and the transaction state are its own.
   */
  private refuse(out: Buffer[], error: Buffer): void {
    out.push(REFUSED_PARSE);
    this.queue.push(PASS, FE_PARSE, null, null, error);
  }

  /** Hidden Closes before `serverName` is prepared on `server` (sql-prepare.ts uses it too). */
  makeRoom(server: ServerConnection, out: Buffer[], serverName: string): void {
    for (const old of server.statements.evict(this.host.cacheSize - 1)) {
      out.push(encodeTarget(FE_CLOSE, TARGET_STATEMENT, old));
      this.queue.push(HIDE, FE_CLOSE, null, old, null);
    }
    if (server.statements.unsure) {
      // After a DEALLOCATE of an unknown name the server may still have it (ServerStatements).
      out.push(encodeTarget(FE_CLOSE, TARGET_STATEMENT, serverName));
      this.queue.push(HIDE, FE_CLOSE, null, null, null);
    }
  }

  budgetError(): Buffer {
    return budgetError(this.statements.registry.budgetBytes);
  }

  /**
   * Simple-query statements about prepared statements refer to the client's names, which the
   * server does not know: SQL PREPARE / EXECUTE / DEALLOCATE are mapped (sql-prepare.ts: a
   * DEALLOCATE of a client statement is answered locally); DISCARD ALL and DEALLOCATE ALL also
   * drop the client's names (and reach the server, whose statement cache is then cleared when it
   * reports the command).
   */
  private interceptQuery(body: Buffer, server: ServerConnection, out: Buffer[]): boolean {
    const c = body[0]!;
    // Cheap filter: only statements starting with c/C, d/D, e/E, p/P, white space or a comment are looked at.
    const l = c | 0x20;
    if (l !== 0x63 && l !== 0x64 && l !== 0x65 && l !== 0x70 && c > 0x20 && c !== 0x2d && c !== 0x2f) return false;
    if ((l === 0x64 || c <= 0x20) && DISCARD_ALL.test(body.toString('latin1', 0, Math.max(0, body.length - 1)))) {
      this.statements.clear();
      return false;
    }
    return interceptSqlPrepare(this, body, server, out);
  }

  /**
   * The server connection died: forgets the outstanding requests. Returns whether the streams stood
   * at a message boundary (no partial reply forwarded, no client message half-framed).
   */
  abandon(): boolean {
    // A message held for the tenant's listener (listenGate) was not sent: the stream is not clean.
    const clean = this.replies.abandon() && this.framer.buffered === 0 && this.held === null;
    this.queue.clear();
    return clean;
  }

  /**
   * The checkout failed: drops the client's buffered messages and returns how many of them owe a
   * ReadyForQuery (Query, Sync, FunctionCall), or -1 when a partial message is left.
   */
  discardQueued(): number {
    let owed = 0;
    try {
      for (let m = this.framer.next(); m !== undefined; m = this.framer.next()) {
        if (m.type === FE_QUERY || m.type === FE_SYNC || m.type === FE_FUNCTION_CALL) owed++;
      }
    } catch (err) {
      // An impossible length: called from the pool's timer, so end the client here (see drain).
      if (!(err instanceof ProtocolError)) throw err;
      this.host.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation', true);
      return -1;
    }
    return this.framer.buffered === 0 ? owed : -1;
  }
}
