// The server → client half of a prepared session (prepared-session.ts): each server message is
// matched to the request at the head of the queue (prepared-queue.ts), so replies the pooler
// answers itself (LOCAL: a Parse of a statement the server already has, a Close) appear exactly
// where the server's would, and replies to messages the pooler injected (HIDE: a Parse replayed
// before Bind/Describe, the Close of an evicted statement) are swallowed. Server-side statement
// names in errors are told as the client's own.
import type { ServerConnection } from '../backend/server.ts';
import * as codes from '../net/codes.ts';
import { encodeErrorFields } from '../net/extended.ts';
import type { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parseErrorFields } from '../net/parse.ts';
import type { ScanSink } from '../net/scanner.ts';
import type { ClientStatements } from '../prepared/client-names.ts';
import type { PreparedSessionHost } from './prepared-host.ts';
import * as entryKinds from './prepared-queue.ts';
import { completes, type Entry, type RequestQueue } from './prepared-queue.ts';
import { sqlCommandComplete, sqlError } from './sql-prepare.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
const BE_BIND_COMPLETE = codes.BE_BIND_COMPLETE;
const BE_CLOSE_COMPLETE = codes.BE_CLOSE_COMPLETE;
const BE_COMMAND_COMPLETE = codes.BE_COMMAND_COMPLETE;
const BE_EMPTY_QUERY_RESPONSE = codes.BE_EMPTY_QUERY_RESPONSE;
const BE_ERROR_RESPONSE = codes.BE_ERROR_RESPONSE;
const BE_FUNCTION_CALL_RESPONSE = codes.BE_FUNCTION_CALL_RESPONSE;
const BE_NO_DATA = codes.BE_NO_DATA;
const BE_PARAMETER_STATUS = codes.BE_PARAMETER_STATUS;
const BE_PARSE_COMPLETE = codes.BE_PARSE_COMPLETE;
const BE_PORTAL_SUSPENDED = codes.BE_PORTAL_SUSPENDED;
const BE_READY_FOR_QUERY = codes.BE_READY_FOR_QUERY;
const BE_NOTIFICATION_RESPONSE = codes.BE_NOTIFICATION_RESPONSE;
const BE_ROW_DESCRIPTION = codes.BE_ROW_DESCRIPTION;
const FE_CLOSE = codes.FE_CLOSE;
const FE_PARSE = codes.FE_PARSE;
const FE_SYNC = codes.FE_SYNC;
const TX_FAILED = codes.TX_FAILED;
const TX_IDLE = codes.TX_IDLE;
const BARRIER = entryKinds.BARRIER;
const DUPLICATE = entryKinds.DUPLICATE;
const HIDE = entryKinds.HIDE;
const LOCAL = entryKinds.LOCAL;
const PASS = entryKinds.PASS;
const SYNC = entryKinds.SYNC;

const ABORTED_ERROR = msg.errorResponse({
  severity: 'ERROR',
  code: '25P02',
  message: 'current transaction is aborted, commands ignored until end of transaction block',
});
const SYNTAX_ERROR = '42601';

export class PreparedReplies implements ScanSink {
  private readonly host: PreparedSessionHost;
  private readonly queue: RequestQueue;
  private readonly statements: ClientStatements;
  /** Client names whose Parse has not been answered yet (prepared-session.ts). */
  private readonly unconfirmed: Set<string>;
  private readonly framer: MessageFramer;
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
  /** Bytes at the start of the next chunk(s) that belong to a hidden message split across reads. */
  private swallow = 0;
  /** Set when a ReadyForQuery left the client between transactions with nothing outstanding. */
  idleAfterChunk = false;

  constructor(host: PreparedSessionHost, queue: RequestQueue, statements: ClientStatements, unconfirmed: Set<string>, framer: MessageFramer) {
    this.host = host;
    this.queue = queue;
    this.statements = statements;
    this.unconfirmed = unconfirmed;
    this.framer = framer;
  }

  /** Writes the local replies at the head of the queue if the server owes nothing before them. */
  emitDueLocals(server: ServerConnection): void {
    if (this.queue.peek()?.kind === LOCAL && server.scanner.atBoundary() && this.carry === null) {
      const bufs: Buffer[] = [];
      this.idleAfterChunk = false;
      this.emitLocals(bufs);
      this.host.flow.toClient(bufs);
      // A query answered here (DEALLOCATE) ended the transaction: no server reply will come to
      // release the connection, so it goes back now (else it stays held by an idle client).
      if (this.idleAfterChunk) {
        this.idleAfterChunk = false;
        this.host.answeredLocally();
      }
    }
  }

  /** The server connection died: returns whether no partial reply had been forwarded. */
  abandon(): boolean {
    const clean = this.carry === null;
    this.carry = null;
    this.localDue = false;
    this.swallow = 0;
    this.suppressUntilReady = false;
    this.replacement = null;
    return clean;
  }

  /** Scans a server chunk, hiding and inserting replies; returns the buffers for the client. */
  onServerData(chunk: Buffer, server: ServerConnection): Buffer[] {
    this.chunk = chunk;
    this.cursor = 0;
    if (this.swallow > 0) {
      this.cursor = Math.min(this.swallow, chunk.length);
      this.swallow -= this.cursor;
    }
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
    const q = this.queue;
    const h = q.peek();
    let hide = false;
    // A mapped SQL statement's notice (its name was truncated) comes first, as the server's would.
    if (h !== undefined && h.sql !== null && h.sql.notice !== null) {
      this.out.push(h.sql.notice);
      h.sql.notice = null;
    }
    // A statement ran (or a portal was bound, a function called): reset before the next client.
    if (type === BE_COMMAND_COMPLETE || type === BE_ERROR_RESPONSE || type === BE_BIND_COMPLETE || type === BE_PORTAL_SUSPENDED || type === BE_FUNCTION_CALL_RESPONSE) {
      this.host.server!.dirty = true;
    }
    switch (type) {
      case BE_READY_FOR_QUERY:
        if (h !== undefined && (h.kind === SYNC || h.kind === BARRIER)) {
          if (h.kind === SYNC || --h.count === 0) q.pop();
          if (this.host.pending > 0) this.host.pending--;
        }
        this.host.inspector.requestsDone();
        if (this.host.listens !== null && this.host.listens.busy) this.host.listens.onReady(first);
        this.host.txStatus = first;
        if (this.host.pending === 0) this.host.answered(first);
        if (first === TX_IDLE && this.host.pending === 0 && q.length === 0 && this.framer.buffered === 0) this.idleAfterChunk = true;
        break;
      case BE_PARSE_COMPLETE:
      case BE_BIND_COMPLETE:
      case BE_CLOSE_COMPLETE:
      case BE_ROW_DESCRIPTION:
      case BE_NO_DATA:
      case BE_COMMAND_COMPLETE:
      case BE_EMPTY_QUERY_RESPONSE:
      case BE_PORTAL_SUSPENDED:
        if (h !== undefined && (h.kind === PASS || h.kind === HIDE) && completes(h.req, type)) {
          hide = h.kind === HIDE;
          if (h.req === FE_PARSE) {
            if (h.name !== null) this.unconfirmed.delete(h.name);
            // The server accepted the text: only now may other clients of the tenant find it.
            if (h.stmt !== null) this.statements.registry.confirm(h.stmt);
          }
          q.pop();
        }
        if (type === BE_COMMAND_COMPLETE) {
          // A mapped SQL PREPARE / EXECUTE (sql-prepare.ts): the pooler's own PREPARE is hidden;
          // its tags (PREPARE, SELECT, INSERT ...) change nothing the inspector tracks.
          if (h !== undefined && h.sql !== null) hide = sqlCommandComplete(h.sql, this.statements, this.unconfirmed);
          else this.replacement = this.host.inspector.inspectOrCapture(type, first, start, length, this.chunk);
        }
        break;
      case BE_PARAMETER_STATUS:
        this.replacement = this.host.inspector.inspectOrCapture(type, first, start, length, this.chunk);
        break;
      case BE_ERROR_RESPONSE:
        this.onError(h, start, length);
        break;
      case BE_NOTIFICATION_RESPONSE:
        // As on the fast path: the client's notifications come from the tenant's listening connection.
        if (this.host.transactionMode && start >= 0 && start + 1 + length <= this.chunk.length) hide = true;
        break;
      default:
        break;
    }
    if (q.peek()?.kind === LOCAL) this.localDue = true;
    // This message's own bytes: a message that began in the previous chunk starts with the carry.
    if (start < 0 && this.carry !== null) {
      this.carryUsed = true;
      if (!hide) this.out.push(this.carry);
      this.carry = null;
    }
    if (this.suppressUntilReady) {
      if (type === BE_READY_FOR_QUERY) this.suppressUntilReady = false;
      else hide = true;
    }
    if (this.replacement !== null) {
      if (!hide) this.out.push(this.replacement);
      this.replacement = null;
      hide = true;
    }
    if (hide) {
      this.cursor = start + 1 + length;
      if (this.cursor > this.chunk.length) {
        // A hidden message with a body (a CommandComplete) that goes on in the next read.
        this.swallow = this.cursor - this.chunk.length;
        this.cursor = this.chunk.length;
      }
    }
  }

  private emitLocals(out: Buffer[]): void {
    this.localDue = false;
    const q = this.queue;
    for (let h = q.peek(); h !== undefined && h.kind === LOCAL; h = q.peek()) {
      if (this.host.txStatus === TX_FAILED && h.req !== FE_CLOSE) {
        // In a failed transaction PostgreSQL refuses Parse and queries (SQLSTATE 25P02); the
        // statement the pooler would have answered for is not defined, and what follows up to
        // Sync is skipped, so the server's own reply to it is hidden.
        out.push(ABORTED_ERROR);
        q.pop();
        if (h.req === FE_PARSE && h.name !== null && h.stmt !== null && this.statements.get(h.name) === h.stmt) this.statements.delete(h.name);
        if (h.withReady) {
          out.push(msg.readyForQuery('E'));
          if (this.host.pending === 0) this.host.answered(TX_FAILED);
        } else {
          this.skipToSync(this.host.server);
          if (q.length > 0) this.suppressUntilReady = true;
        }
        continue;
      }
      out.push(h.bytes!);
      if (h.req === FE_PARSE && h.name !== null) this.unconfirmed.delete(h.name);
      if (h.req === FE_PARSE && h.stmt !== null) this.statements.registry.confirm(h.stmt);
      q.pop();
      if (h.withReady) {
        out.push(msg.readyForQuery(String.fromCharCode(this.host.txStatus) as 'I' | 'T' | 'E'));
        // A query answered here (no server ReadyForQuery follows it) ends its timing too.
        if (this.host.pending === 0) this.host.answered(this.host.txStatus);
        if (this.host.txStatus === TX_IDLE && this.host.pending === 0 && q.length === 0 && this.framer.buffered === 0) this.idleAfterChunk = true;
      }
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
    const held = this.host.inspector.inspectOrCapture(BE_ERROR_RESPONSE, 0, start, length, this.chunk);
    if (held !== null) this.replacement = held;
    if (h !== undefined && h.sql !== null) {
      // A mapped SQL PREPARE / EXECUTE: the client's names and positions (sql-prepare.ts).
      const told = sqlError(h.sql, fields, this.host.server, this.statements, this.unconfirmed);
      if (told !== null && held === null) this.replacement = told;
      return;
    }
    if (h === undefined || h.kind === SYNC || h.kind === BARRIER || h.kind === LOCAL) return;
    const server = this.host.server;
    // The failed request.
    this.queue.pop();
    if (h.req === FE_PARSE && h.name !== null) this.unconfirmed.delete(h.name);
    if (h.req === FE_PARSE && h.stmt !== null && h.count !== DUPLICATE) {
      server?.statements.delete(h.stmt.serverName);
      if (h.name !== null && this.statements.get(h.name) === h.stmt) this.statements.delete(h.name);
    }
    // Server-side names mean nothing to the client: say its own name in the message.
    if (fields !== undefined && h.stmt !== null && h.name !== null && fields.M?.includes(`"${h.stmt.serverName}"`)) {
      fields.M = fields.M.split(`"${h.stmt.serverName}"`).join(`"${h.name}"`);
      this.replacement = encodeErrorFields(BE_ERROR_RESPONSE, fields);
    }
    // A Parse refused for the budget: the server's syntax error stands for the budget error (in a
    // failed transaction, for 25P02, which PostgreSQL reports for any Parse there).
    if (h.bytes !== null && fields?.C === SYNTAX_ERROR) this.replacement = this.host.txStatus === TX_FAILED ? ABORTED_ERROR : h.bytes;
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
    const q = this.queue;
    for (let e = q.peek(); e !== undefined && !(e.kind === SYNC && e.req === FE_SYNC); e = q.peek()) {
      if (e.kind === HIDE && e.req === FE_CLOSE && e.name !== null) server?.statements.add(e.name);
      else if (e.req === FE_PARSE && e.stmt !== null && e.count !== DUPLICATE) {
        if (e.kind !== LOCAL) server?.statements.delete(e.stmt.serverName);
        if (e.kind !== HIDE && e.name !== null && this.statements.get(e.name) === e.stmt) this.statements.delete(e.name);
      } else if (e.kind === SYNC && this.host.pending > 0) this.host.pending--;
      q.pop();
    }
  }
}
