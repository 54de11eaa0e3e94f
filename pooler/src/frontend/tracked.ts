// Tracked mode: a transaction-mode client that uses named prepared statements. Its messages are
// framed one by one so statement names can be rewritten, and every request is matched to its
// reply through a queue of outstanding requests, so replies the pooler answers itself (Parse of a
// statement the server already has, Close) appear exactly where the server's would, and replies to
// messages the pooler injected (a Parse replayed before Bind/Describe, the Close of an evicted
// statement) are hidden. Protocol docs, "Extended Query" and "Message Flow": one reply per Parse,
// Bind, Describe, Close and Execute; after an ErrorResponse the server discards messages until Sync.
import type { ServerConnection } from '../backend/server.ts';
import { PoolerError } from '../errors.ts';
import {
  CLOSE_COMPLETE,
  PARSE_COMPLETE,
  decodeBindNames,
  decodeParse,
  decodeTarget,
  encodeParse,
  encodeBindRenamed,
  encodeErrorFields,
  encodeTarget,
} from '../net/extended.ts';
import { MessageFramer, ProtocolError, type Message } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parseErrorFields } from '../net/parse.ts';
import type { ScanSink } from '../net/scanner.ts';
import { PORTAL_BATCH, PORTAL_EARLIER, PORTAL_GONE_PARSE, PORTAL_NONE, unnamedPortalSafe } from './unnamed-portal.ts';
import { ClientStatements } from '../prepared/client-names.ts';
import type { Statement, StatementRegistry } from '../prepared/registry.ts';

// Entry kinds.
const PASS = 0; // the server's reply goes to the client
const HIDE = 1; // the server's reply to a message the pooler injected is swallowed
const LOCAL = 2; // answered by the pooler when the entry reaches the head of the queue
const SYNC = 3; // Sync, Query or FunctionCall: the reply ends with ReadyForQuery
const BARRIER = 4; // replies to requests sent before tracking began: pass until `count` ReadyForQuery

/** Entry.count marking a Parse sent only to obtain the server's "already exists" error. */
const DUPLICATE = 1;

const P = 0x50;
const B = 0x42;
const D = 0x44;
const C = 0x43;
const E = 0x45;
const S = 0x53;
const Q = 0x51;
const F = 0x46;
const H = 0x48;
const X = 0x58;
const Z = 0x5a;

interface Entry {
  kind: number;
  /** The client (or injected) message type this entry answers. */
  req: number;
  stmt: Statement | null;
  /** For a client Parse: the client's name; for an eviction Close: the server name. */
  name: string | null;
  /** LOCAL: the reply; `withReady` appends ReadyForQuery with the status current at emission. */
  bytes: Buffer | null;
  withReady: boolean;
  count: number;
}

export interface TrackedHost {
  readonly server: ServerConnection | null;
  /** The tenant's statements (one registry per tenant). */
  readonly registry: StatementRegistry;
  readonly cacheSize: number;
  txStatus: number;
  pending: number;
  /** A Bind to '' reached this connection since the last Query (unnamed-portal.ts). */
  unnamedPortal: number;
  /** Stand-in Parses whose refusal is answered as 34000 (unnamed-portal.ts). */
  portalGone: number;
  writeToServer(bufs: Buffer[]): void;
  writeToClient(bufs: Buffer[]): void;
  requestServer(): void;
  /**
   * Looks into ParameterStatus, CommandComplete and ErrorResponse messages (client.ts); a message
   * split across reads is inspected once complete, and then cannot be rewritten (returns null).
   */
  inspectOrCapture(type: number, first: number, start: number, length: number, chunk: Buffer): Buffer | null;
  /** The client sent Terminate after `bufs` (already written). */
  terminated(): void;
  protocolViolation(message: string): void;
}

const ABORTED_ERROR = msg.errorResponse({
  severity: 'ERROR',
  code: '25P02',
  message: 'current transaction is aborted, commands ignored until end of transaction block',
});

const DEALLOCATE_ALL = /^\s*deallocate\s+(?:prepare\s+)?all\s*;?\s*$/i;
const DEALLOCATE_ONE = /^\s*deallocate\s+(?:prepare\s+)?(?:"((?:[^"]|"")+)"|([^\s;"]+))\s*;?\s*$/i;
const DISCARD_ALL = /^\s*discard\s+all\s*;?\s*$/i;

/**
 * A Parse refused for the tenant's statement budget goes to the server as this Parse, which fails
 * there with a syntax error (42601), so the transaction state and the skip to Sync are the
 * server's own; the client gets 53400 instead (budgetError). Named: the client's unnamed statement
 * stays; nothing is defined. The text is what the server's log shows.
 */
const REFUSED_PARSE = encodeParse('sy_refused', Buffer.from('SWITCHYARD_PREPARED_STATEMENT_BUDGET_EXCEEDED\0\0\0', 'latin1'));
const SYNTAX_ERROR = '42601';

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

export class TrackedSession implements ScanSink {
  private readonly host: TrackedHost;
  readonly framer: MessageFramer;
  /** The client's statement names → its tenant's shared statements. */
  readonly statements: ClientStatements;
  /** Client names whose Parse has not been answered yet (a pipelined re-Parse replaces them). */
  private readonly unconfirmed = new Set<string>();
  private entries: Entry[] = [];
  private head = 0;
  private lastBound: Statement | null = null;
  private lastBoundName: string | null = null;
  /** A local error (aborted transaction) stands for the server's replies up to the next Sync. */
  private suppressUntilReady = false;
  /** A rewritten ErrorResponse replacing the one being scanned. */
  private replacement: Buffer | null = null;
  // Server → client emission state for the chunk being scanned.
  private chunk: Buffer = Buffer.alloc(0);
  private cursor = 0;
  private out: Buffer[] = [];
  private carry: Buffer | null = null;
  private carryUsed = false;
  private localDue = false;
  /** Set when a ReadyForQuery left the client between transactions with nothing outstanding. */
  idleAfterChunk = false;

  constructor(host: TrackedHost, maxMessageSize: number, inFlight: number) {
    this.host = host;
    this.framer = new MessageFramer(maxMessageSize);
    this.statements = new ClientStatements(host.registry);
    if (inFlight > 0) this.push(BARRIER, 0, null, null, null, false, inFlight);
  }

  get outstanding(): number {
    return this.entries.length - this.head;
  }

  private push(kind: number, req: number, stmt: Statement | null, name: string | null, bytes: Buffer | null, withReady = false, count = 0): void {
    this.entries.push({ kind, req, stmt, name, bytes, withReady, count });
  }

  private peek(): Entry | undefined {
    return this.entries[this.head];
  }

  private pop(): void {
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    }
  }

  // ---- client → server --------------------------------------------------------------------

  onClientData(chunk: Buffer): void {
    this.framer.push(chunk);
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
      this.host.protocolViolation(err.message);
    }
  }

  private drainMessages(): void {
    const server = this.host.server;
    if (server === null) return;
    const out: Buffer[] = [];
    for (let m = this.framer.next(); m !== undefined; m = this.framer.next()) {
      if (m.type === X) {
        if (out.length > 0) this.host.writeToServer(out);
        this.host.terminated();
        return;
      }
      if (!this.handleClientMessage(m, server, out)) return;
    }
    if (out.length > 0) this.host.writeToServer(out);
    // Local replies at the head of the queue are due now if the server owes nothing before them.
    if (this.peek()?.kind === LOCAL && server.scanner.atBoundary() && this.carry === null) {
      const bufs: Buffer[] = [];
      this.emitLocals(bufs);
      this.host.writeToClient(bufs);
    }
  }

  private handleClientMessage(m: Message, server: ServerConnection, out: Buffer[]): boolean {
    switch (m.type) {
      case P: {
        const { name, rest } = decodeParse(m.body);
        if (name === '') {
          out.push(m.raw);
          this.push(PASS, P, null, null, null);
          break;
        }
        const existing = this.statements.get(name);
        if (existing !== undefined && !this.unconfirmed.has(name)) {
          // PostgreSQL refuses a second Parse of a name (42P05). Let the server refuse it too, so
          // the transaction state and the skip to Sync are exactly its own: parse under the
          // existing statement's server name, which that connection is made to have.
          if (!server.statements.has(existing.serverName)) this.prepare(server, existing, out, HIDE, null);
          out.push(encodeParse(existing.serverName, rest));
          this.push(PASS, P, existing, name, null, false, DUPLICATE);
          break;
        }
        const stmt = this.statements.define(name, rest);
        if (stmt === null) {
          out.push(REFUSED_PARSE);
          this.push(PASS, P, null, null, budgetError(this.statements.registry.budgetBytes));
          break;
        }
        this.unconfirmed.add(name);
        if (server.statements.has(stmt.serverName)) this.push(LOCAL, P, stmt, name, PARSE_COMPLETE);
        else this.prepare(server, stmt, out, PASS, name);
        break;
      }
      case B: {
        if (m.body[0] === 0) this.host.unnamedPortal = PORTAL_BATCH;
        const b = decodeBindNames(m.body);
        const stmt = b.statement === '' ? undefined : this.statements.get(b.statement);
        if (stmt === undefined) {
          out.push(m.raw);
          this.push(PASS, B, null, null, null);
          this.lastBound = null;
          this.lastBoundName = null;
          break;
        }
        if (!server.statements.has(stmt.serverName)) this.prepare(server, stmt, out, HIDE, null);
        out.push(encodeBindRenamed(m.body, b.portalEnd, b.statementEnd, stmt.serverName));
        this.push(PASS, B, stmt, b.statement, null);
        this.lastBound = stmt;
        this.lastBoundName = b.statement;
        break;
      }
      case D: {
        if (this.portalGone(m, out)) break;
        const t = decodeTarget(m.body);
        const stmt = t.kind === S && t.name !== '' ? this.statements.get(t.name) : undefined;
        if (stmt === undefined) {
          out.push(m.raw);
          this.push(PASS, D, null, null, null);
          break;
        }
        if (!server.statements.has(stmt.serverName)) this.prepare(server, stmt, out, HIDE, null);
        out.push(encodeTarget(D, S, stmt.serverName));
        this.push(PASS, D, stmt, t.name, null);
        break;
      }
      case C: {
        const t = decodeTarget(m.body);
        if (t.kind === S && t.name !== '') {
          // The server statement stays cached for other clients; closing a name that does not
          // exist is not an error (protocol docs, "Close").
          this.statements.delete(t.name);
          this.push(LOCAL, C, null, null, CLOSE_COMPLETE);
          break;
        }
        out.push(m.raw);
        this.push(PASS, C, null, null, null);
        break;
      }
      case E:
        if (this.portalGone(m, out)) break;
        out.push(m.raw);
        this.push(PASS, E, this.lastBound, this.lastBoundName, null);
        break;
      case S:
      case F:
        if (m.type === S && this.host.unnamedPortal === PORTAL_BATCH) this.host.unnamedPortal = PORTAL_EARLIER;
        out.push(m.raw);
        this.push(SYNC, m.type, null, null, null);
        this.host.pending++;
        break;
      case Q:
        // Destroys the unnamed portal (protocol docs, "Extended Query"), even one answered here.
        this.host.unnamedPortal = PORTAL_NONE;
        if (this.interceptQuery(m.body)) break;
        out.push(m.raw);
        this.push(SYNC, Q, null, null, null);
        this.host.pending++;
        break;
      case H:
      case 0x64: // CopyData
      case 0x63: // CopyDone
      case 0x66: // CopyFail
        out.push(m.raw);
        break;
      default:
        this.host.protocolViolation(`invalid frontend message type ${m.type}`);
        return false;
    }
    return true;
  }

  /**
   * An Execute/Describe of '' with no Bind to '' since the last Query on this connection goes as
   * PORTAL_GONE_PARSE, whose refusal the host answers as 34000 (unnamed-portal.ts).
   */
  private portalGone(m: Message, out: Buffer[]): boolean {
    const h = this.host;
    if (unnamedPortalSafe(h.unnamedPortal, h.pending, h.txStatus) || !(m.body.length === (m.type === E ? 5 : 2) && m.body[m.type === E ? 0 : 1] === 0)) return false;
    if (m.type === D && m.body[0] !== P) return false;
    out.push(PORTAL_GONE_PARSE);
    this.push(PASS, P, null, null, null);
    this.host.portalGone++;
    return true;
  }

  /** Sends `stmt`'s Parse on this server, evicting least recently used statements beyond the limit. */
  private prepare(server: ServerConnection, stmt: Statement, out: Buffer[], kind: number, clientName: string | null): void {
    for (const old of server.statements.evict(this.host.cacheSize - 1)) {
      out.push(encodeTarget(C, S, old));
      this.push(HIDE, C, null, old, null);
    }
    if (server.statements.unsure) {
      // After a DEALLOCATE of an unknown name the server may still have it (ServerStatements).
      out.push(encodeTarget(C, S, stmt.serverName));
      this.push(HIDE, C, null, null, null);
    }
    out.push(this.statements.registry.parseMessage(stmt));
    server.statements.add(stmt.serverName);
    this.push(kind, P, stmt, clientName, null);
  }

  /**
   * Simple-query statements about prepared statements refer to the client's names, which the
   * server does not know: DEALLOCATE of a client statement is answered locally; DISCARD ALL and
   * DEALLOCATE ALL also drop the client's names (and reach the server, whose statement cache is
   * then cleared when it reports the command).
   */
  private interceptQuery(body: Buffer): boolean {
    const c = body[0];
    // Cheap filter: only statements starting with d/D or white space are looked at.
    if (c !== 0x64 && c !== 0x44 && c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
    const sql = body.toString('utf8', 0, Math.max(0, body.length - 1));
    if (DISCARD_ALL.test(sql) || DEALLOCATE_ALL.test(sql)) {
      this.statements.clear();
      return false;
    }
    const one = DEALLOCATE_ONE.exec(sql);
    if (one) {
      const name = one[1] !== undefined ? one[1].replace(/""/g, '"') : (one[2] ?? '').toLowerCase();
      if (!this.statements.has(name)) return false;
      this.statements.delete(name);
      this.push(LOCAL, Q, null, null, msg.commandComplete('DEALLOCATE'), true);
      return true;
    }
    return false;
  }

  /**
   * The server connection died: forgets the outstanding requests. Returns whether the streams stood
   * at a message boundary (no partial reply forwarded, no client message half-framed).
   */
  abandon(): boolean {
    const clean = this.carry === null && this.framer.buffered === 0;
    this.entries = [];
    this.head = 0;
    this.carry = null;
    this.localDue = false;
    this.suppressUntilReady = false;
    this.replacement = null;
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
        if (m.type === Q || m.type === S || m.type === F) owed++;
      }
    } catch (err) {
      // An impossible length: called from the pool's timer, so end the client here (see drain).
      if (!(err instanceof ProtocolError)) throw err;
      this.host.protocolViolation(err.message);
      return -1;
    }
    return this.framer.buffered === 0 ? owed : -1;
  }

  // ---- server → client --------------------------------------------------------------------

  /** Scans a server chunk, hiding and inserting replies; returns the buffers for the client. */
  onServerData(chunk: Buffer, server: ServerConnection): Buffer[] {
    this.chunk = chunk;
    this.cursor = 0;
    this.out = [];
    this.carryUsed = false;
    this.idleAfterChunk = false;
    server.scanner.scan(chunk, this);
    const out = this.out;
    if (this.carry !== null && !this.carryUsed) {
      // Still inside the same unfinished header.
      this.carry = Buffer.concat([this.carry, chunk]);
      return out;
    }
    const held = server.scanner.heldBytes();
    const end = chunk.length - held;
    if (end > this.cursor) out.push(chunk.subarray(this.cursor, end));
    this.carry = held > 0 ? Buffer.from(chunk.subarray(end)) : null;
    if (this.localDue && this.carry === null && server.scanner.atBoundary()) this.emitLocals(out);
    return out;
  }

  onMessage(type: number, first: number, start: number, length: number): void {
    // Bytes before this message, then any local replies that became due, then this message.
    if (start > this.cursor) {
      this.out.push(this.chunk.subarray(this.cursor, start));
      this.cursor = start;
    }
    if (this.localDue) this.emitLocals(this.out);
    const h = this.peek();
    let hide = false;
    // A statement ran (or a portal was bound, a function called): reset before the next client.
    if (type === 0x43 || type === E || type === 0x32 || type === 0x73 || type === 0x56) this.host.server!.dirty = true;
    switch (type) {
      case Z:
        if (h !== undefined && (h.kind === SYNC || h.kind === BARRIER)) {
          if (h.kind === SYNC || --h.count === 0) this.pop();
          if (this.host.pending > 0) this.host.pending--;
        }
        this.host.txStatus = first;
        if (first === 0x49 && this.host.pending === 0 && this.outstanding === 0 && this.framer.buffered === 0) this.idleAfterChunk = true;
        break;
      case 0x31: // ParseComplete
      case 0x32: // BindComplete
      case 0x33: // CloseComplete
      case 0x54: // RowDescription
      case 0x6e: // NoData
      case 0x43: // CommandComplete
      case 0x49: // EmptyQueryResponse
      case 0x73: // PortalSuspended
        if (h !== undefined && (h.kind === PASS || h.kind === HIDE) && completes(h.req, type)) {
          hide = h.kind === HIDE;
          if (h.req === P) {
            if (h.name !== null) this.unconfirmed.delete(h.name);
            // The server accepted the text: only now may other clients of the tenant find it.
            if (h.stmt !== null) this.statements.registry.confirm(h.stmt);
          }
          this.pop();
        }
        if (type === 0x43) this.replacement = this.host.inspectOrCapture(type, first, start, length, this.chunk);
        break;
      case S: // ParameterStatus
        this.replacement = this.host.inspectOrCapture(type, first, start, length, this.chunk);
        break;
      case E:
        this.onError(h, start, length);
        break;
      default:
        break;
    }
    if (this.peek()?.kind === LOCAL) this.localDue = true;
    // This message's own bytes: a message that began in the previous chunk starts with the carry.
    if (start < 0 && this.carry !== null) {
      this.carryUsed = true;
      if (!hide) this.out.push(this.carry);
      this.carry = null;
    }
    if (this.suppressUntilReady) {
      if (type === Z) this.suppressUntilReady = false;
      else hide = true;
    }
    if (this.replacement !== null) {
      if (!hide) this.out.push(this.replacement);
      this.replacement = null;
      hide = true;
    }
    if (hide) this.cursor = start + 1 + length;
  }

  private emitLocals(out: Buffer[]): void {
    this.localDue = false;
    for (let h = this.peek(); h !== undefined && h.kind === LOCAL; h = this.peek()) {
      if (this.host.txStatus === 0x45 /* E */ && h.req !== C) {
        // In a failed transaction PostgreSQL refuses Parse and queries (SQLSTATE 25P02); the
        // statement the pooler would have answered for is not defined, and what follows up to
        // Sync is skipped, so the server's own reply to it is hidden.
        out.push(ABORTED_ERROR);
        this.pop();
        if (h.req === P && h.name !== null && h.stmt !== null && this.statements.get(h.name) === h.stmt) this.statements.delete(h.name);
        if (h.withReady) out.push(msg.readyForQuery('E'));
        else {
          this.skipToSync(this.host.server);
          if (this.outstanding > 0) this.suppressUntilReady = true;
        }
        continue;
      }
      out.push(h.bytes!);
      if (h.req === P && h.name !== null) this.unconfirmed.delete(h.name);
      if (h.req === P && h.stmt !== null) this.statements.registry.confirm(h.stmt);
      if (h.withReady) out.push(msg.readyForQuery(String.fromCharCode(this.host.txStatus) as 'I' | 'T' | 'E'));
      this.pop();
    }
  }

  private onError(h: Entry | undefined, start: number, length: number): void {
    let fields: Record<string, string> | undefined;
    if (start >= 0 && start + 1 + length <= this.chunk.length) {
      try {
        fields = parseErrorFields(this.chunk.subarray(start + 5, start + 1 + length));
      } catch {
        fields = undefined;
      }
    }
    // A split ErrorResponse is inspected once complete (its SQLSTATE may hint at a failover). A
    // FATAL before the server hangs up is held back, as on the fast path: the client gets the
    // answer onServerClosed gives (an ERROR it can survive), not the FATAL and then that answer.
    const held = this.host.inspectOrCapture(E, 0, start, length, this.chunk);
    if (held !== null) this.replacement = held;
    if (h === undefined || h.kind === SYNC || h.kind === BARRIER || h.kind === LOCAL) return;
    const server = this.host.server;
    // The failed request.
    this.pop();
    if (h.req === P && h.name !== null) this.unconfirmed.delete(h.name);
    if (h.req === P && h.stmt !== null && h.count !== DUPLICATE) {
      server?.statements.delete(h.stmt.serverName);
      if (h.name !== null && this.statements.get(h.name) === h.stmt) this.statements.delete(h.name);
    }
    // Server-side names mean nothing to the client: say its own name in the message.
    if (fields !== undefined && h.stmt !== null && h.name !== null && fields.M?.includes(`"${h.stmt.serverName}"`)) {
      fields.M = fields.M.split(`"${h.stmt.serverName}"`).join(`"${h.name}"`);
      this.replacement = encodeErrorFields(E, fields);
    }
    // A Parse refused for the budget: the server's syntax error stands for the budget error (in a
    // failed transaction, for 25P02, which PostgreSQL reports for any Parse there).
    if (h.bytes !== null && fields?.C === SYNTAX_ERROR) this.replacement = this.host.txStatus === E ? ABORTED_ERROR : h.bytes;
    if (fields?.C === '0A000' && h.stmt !== null && /cached plan must not change result type/.test(fields.M ?? '')) {
      // The statement's result type changed under it (ALTER TABLE): give it a new server name so
      // the next use prepares it afresh. The client sees this one error; the retry succeeds.
      this.statements.registry.invalidate(h.stmt);
    }
    // The server now discards everything up to the next Sync: so do we.
    this.skipToSync(server);
  }

  private skipToSync(server: ServerConnection | null): void {
    // A skipped Parse defines nothing, on the server or for the client (its name stays unknown,
    // exactly as PostgreSQL would leave it).
    for (let e = this.peek(); e !== undefined && !(e.kind === SYNC && e.req === S); e = this.peek()) {
      if (e.kind === HIDE && e.req === C && e.name !== null) server?.statements.add(e.name);
      else if (e.req === P && e.stmt !== null && e.count !== DUPLICATE) {
        if (e.kind !== LOCAL) server?.statements.delete(e.stmt.serverName);
        if (e.kind !== HIDE && e.name !== null && this.statements.get(e.name) === e.stmt) this.statements.delete(e.name);
      } else if (e.kind === SYNC && this.host.pending > 0) this.host.pending--;
      this.pop();
    }
  }
}

/** Whether a reply message of `type` ends the reply to a request of type `req`. */
function completes(req: number, type: number): boolean {
  switch (req) {
    case P:
      return type === 0x31;
    case B:
      return type === 0x32;
    case C:
      return type === 0x33;
    case D:
      return type === 0x54 || type === 0x6e;
    case E:
      return type === 0x43 || type === 0x49 || type === 0x73;
    default:
      return false;
  }
}
