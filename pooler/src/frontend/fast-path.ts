// The hot path of a client that uses no named prepared statements: its chunks are forwarded whole
// (net/scanner.ts sees message headers only) and the server's chunks come back whole, with the
// requests counted on the way out and their replies on the way back, so client.ts knows when a
// transaction ends (frontend/client.ts: the transaction pooling rule). Nothing is allocated per
// message; the rare rewrites (an Execute of a portal that does not exist, a refused LISTEN, a
// ParameterStatus told as the client's own default) are recorded as offsets and applied per chunk.
import type { Socket } from 'node:net';
import type { ServerConnection } from '../backend/server.ts';
import { PoolerError, type DisconnectReason } from '../errors.ts';
import * as codes from '../net/codes.ts';
import { ScanError, Scanner, type ScanSink } from '../net/scanner.ts';
import type { ClientFlow } from './client-flow.ts';
import * as states from './client-state.ts';
import { mayBeNotifyStatement, parseNotifyStatement, startsLikeNotify, type NotifyStatement } from './notify-statement.ts';
import type { ReplyInspector } from './reply-inspector.ts';
import { beginsWithPrepare } from './sql-prepare-text.ts';
import * as portal from './unnamed-portal.ts';
import { PORTAL_GONE_PARSE, targetsUnnamedPortal, unnamedPortalSafe } from './unnamed-portal.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
const BE_BIND_COMPLETE = codes.BE_BIND_COMPLETE;
const BE_CLOSE_COMPLETE = codes.BE_CLOSE_COMPLETE;
const BE_COMMAND_COMPLETE = codes.BE_COMMAND_COMPLETE;
const BE_EMPTY_QUERY_RESPONSE = codes.BE_EMPTY_QUERY_RESPONSE;
const BE_ERROR_RESPONSE = codes.BE_ERROR_RESPONSE;
const BE_FUNCTION_CALL_RESPONSE = codes.BE_FUNCTION_CALL_RESPONSE;
const BE_NO_DATA = codes.BE_NO_DATA;
const BE_NOTIFICATION_RESPONSE = codes.BE_NOTIFICATION_RESPONSE;
const BE_PARAMETER_STATUS = codes.BE_PARAMETER_STATUS;
const BE_PARSE_COMPLETE = codes.BE_PARSE_COMPLETE;
const BE_PORTAL_SUSPENDED = codes.BE_PORTAL_SUSPENDED;
const BE_READY_FOR_QUERY = codes.BE_READY_FOR_QUERY;
const BE_ROW_DESCRIPTION = codes.BE_ROW_DESCRIPTION;
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
const FE_PASSWORD = codes.FE_PASSWORD;
const FE_QUERY = codes.FE_QUERY;
const FE_SYNC = codes.FE_SYNC;
const FE_TERMINATE = codes.FE_TERMINATE;
const TX_IDLE = codes.TX_IDLE;
const SERVER_BROKEN = states.SERVER_BROKEN;
const CHUNK_PASSED = states.CHUNK_PASSED;
const RELEASE_DUE = states.RELEASE_DUE;
const PORTAL_BATCH = portal.PORTAL_BATCH;
const PORTAL_EARLIER = portal.PORTAL_EARLIER;
const PORTAL_NONE = portal.PORTAL_NONE;

const mayBeNotify = mayBeNotifyStatement;

const EMPTY = Buffer.alloc(0);
/** stopType of a Query that may begin with SQL PREPARE (not a message type: those are bytes). */
const STOP_SQL = 0x100;
/** 1 for the first bytes a Query text beginning with PREPARE can have: p, P, white space, - and / (comments). */
const SQL_FIRST = new Uint8Array(256);
for (const b of [0x70, 0x50, 0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x2d, 0x2f, 0x00]) SQL_FIRST[b] = 1;
/** A LISTEN/UNLISTEN Query longer than this is not looked into (the server gets it: refused, reply-inspector.ts). */
const MAX_NOTIFY_QUERY = 4096;
/** Skips the body of an intercepted message (no message starts inside it). */
const NO_MESSAGES: ScanSink = { onMessage() {} };

/** The client connection, as its fast path sees it (frontend/client.ts). */
export interface FastPathClient {
  readonly socket: Socket;
  readonly server: ServerConnection | null;
  readonly transactionMode: boolean;
  readonly inspector: ReplyInspector;
  /** Requests sent whose ReadyForQuery has not come back yet. */
  pending: number;
  /** PORTAL_NONE, _BATCH or _EARLIER (unnamed-portal.ts). */
  unnamedPortal: number;
  /** Stand-in Parses whose refusal is answered as 34000 (unnamed-portal.ts). */
  portalGone: number;
  txStatus: number;
  transactions: number;
  /** A close is due at the end of the transaction (client.ts closeAtBoundary). */
  readonly closeAfter: object | null;
  clientAtBoundary(): boolean;
  /** Sends `chunk` to the server connection, or queues it until there is one. */
  forward(chunk: Buffer): void;
  /** A ReadyForQuery left nothing outstanding: times the query (and a transaction ended by 'I'). */
  answered(txStatus: number): void;
  /** Switches to the prepared session at a named Parse (client.ts startPreparedSession). */
  startPreparedSession(chunk: Buffer, pendingBefore: number, repliesInFlight: boolean, tailBefore: number): void;
  /** An intercepted message of `type` (Terminate, or one PostgreSQL refuses with FATAL 08P01). */
  intercepted(type: number): void;
  fail(err: PoolerError, reason: DisconnectReason, streamClean?: boolean): void;
  /** Backpressure (client-flow.ts). */
  readonly flow: ClientFlow;
  /** Transaction mode, once the client used LISTEN/UNLISTEN: told each ReadyForQuery while busy (notify-client.ts). */
  readonly listens: { readonly busy: boolean; onReady(status: number): void } | null;
  /**
   * A Query that is exactly one LISTEN/UNLISTEN (transaction mode), whole in `message`: the client
   * answers or forwards it. Returns the bytes to scan next (`rest`), or null when the client
   * holds them itself (waiting for the tenant's listener) or has closed.
   */
  notifyStatement(stmt: NotifyStatement, message: Buffer, rest: Buffer): Buffer | null;
}

export class FastPath implements ScanSink {
  private readonly client: FastPathClient;
  readonly scanner: Scanner;
  /** Extended-protocol messages forwarded since the last Sync. */
  unsynced = false;
  /** Replies still owed to forwarded Parse/Bind/Describe/Execute/Close messages. */
  private owed = 0;
  /** Header bytes of a message at the end of the last chunk, not yet forwarded. */
  carry: Buffer | null = null;
  /** [start, end] of each Execute/Describe of '' in the current chunk to send as PORTAL_GONE_PARSE. */
  private portalSwaps: number[] | null = null;
  /** Bytes at the start of the next chunk(s) that belong to a message already replaced. */
  swallow = 0;
  /** An intercepted message (Terminate, a named Parse, an unknown type) and its offset in the chunk. */
  private stopType = 0;
  private stopAt = 0;
  /** The length field of the Query stopped at as STOP_SQL, or of a LISTEN/UNLISTEN Query (FE_QUERY). */
  private stopLength = 0;
  /** The LISTEN/UNLISTEN a stop at a Query (FE_QUERY) is for. */
  private notifyStmt: NotifyStatement | null = null;
  /** The client chunk being scanned (EMPTY outside onClientData): a LISTEN Query is read from it. */
  private clientChunk: Buffer = EMPTY;
  /** The server chunk being scanned; EMPTY again once written (an idle client keeps no reply alive). */
  private serverChunk: Buffer = EMPTY;
  /** [start, end, replacement] triples for messages of the current server chunk; null when none. */
  private replacements: Array<number | Buffer> | null = null;
  private releaseDue = false;
  private readonly serverSink: ScanSink;

  constructor(client: FastPathClient, maxMessageSize: number) {
    this.client = client;
    this.scanner = new Scanner(maxMessageSize);
    this.serverSink = new ServerSink(this);
  }

  /** The client's stream is between messages and nothing of it is held back. */
  atBoundary(): boolean {
    return this.carry === null && this.scanner.atBoundary();
  }

  // ---- client → server -------------------------------------------------------------------

  onClientData(chunk: Buffer): void {
    // A LISTEN/UNLISTEN handled by the pooler hands back what follows it (a loop, not recursion:
    // a chunk may hold thousands of them).
    for (let next: Buffer | null = chunk; next !== null; ) next = this.scanClient(next);
  }

  private scanClient(chunk: Buffer): Buffer | null {
    const c = this.client;
    const pendingBefore = c.pending;
    const unsyncedBefore = this.unsynced;
    const owedBefore = this.owed;
    const portalBefore = c.unnamedPortal;
    // The rest of a begun message, if its start went to the server (or its queue) already. With a
    // held-back header (carry) it did not: the carry is re-framed with it when turning prepared.
    const tailBefore = this.carry === null ? this.scanner.bodyRemaining() : 0;
    let at: number;
    this.clientChunk = chunk;
    try {
      at = this.scanner.scan(chunk, this);
    } catch (err) {
      this.clientChunk = EMPTY;
      if (err instanceof ScanError) c.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation');
      else throw err;
      return null;
    }
    if (this.stopType !== 0) {
      // A Query whose first byte may begin PREPARE (transaction mode): look at its text; unless
      // it is one, scan on from its body (a few compares per Query otherwise: SELECT never stops).
      if (this.stopType === STOP_SQL && !this.scanPastSql(chunk, at)) {
        this.clientChunk = EMPTY;
        return null;
      }
      this.clientChunk = EMPTY;
      if (this.stopType === FE_PARSE) {
        // A named Parse, or SQL PREPARE (sql-prepare.ts), or an unnamed Parse of LISTEN: the
        // prepared session re-frames this chunk from its start and sees its Binds and Queries again.
        this.stopType = 0;
        c.unnamedPortal = portalBefore;
        this.portalSwaps = null;
        c.startPreparedSession(chunk, pendingBefore, unsyncedBefore && owedBefore > 0, tailBefore);
        return null;
      }
      // Terminate, an unknown type, or a LISTEN/UNLISTEN (0: a Query looked at was no PREPARE, the chunk goes on).
      if (this.stopType !== 0) return this.onIntercepted(chunk);
    }
    this.clientChunk = EMPTY;
    // Hold back a message header split at the end of the chunk: the message may still be one we
    // intercept, and its first bytes must not have reached the server by then.
    const held = this.scanner.heldBytes();
    if (held > chunk.length) {
      // A header split over three or more reads: all of it is still held back.
      this.carry = this.carry === null ? Buffer.from(chunk) : Buffer.concat([this.carry, chunk]);
      return null;
    }
    if (this.portalSwaps !== null || this.swallow > 0) {
      this.forwardSwapped(chunk, chunk.length - held);
      return null;
    }
    if (this.carry !== null) {
      c.forward(this.carry);
      this.carry = null;
    }
    if (held === 0) c.forward(chunk);
    else {
      c.forward(chunk.subarray(0, chunk.length - held));
      this.carry = Buffer.from(chunk.subarray(chunk.length - held));
    }
    return null;
  }

  /** Whether the unnamed Parse at `start`, whole in the current chunk, is of one LISTEN/UNLISTEN. */
  private notifyParse(start: number, length: number): boolean {
    const chunk = this.clientChunk;
    const end = start + 1 + length;
    // Body: the empty name (one NUL), then the text.
    if (start < 0 || end > chunk.length || length > MAX_NOTIFY_QUERY || start + 6 >= end || !mayBeNotify(chunk[start + 6]!) || !startsLikeNotify(chunk, start + 6, end)) return false;
    const nul = chunk.indexOf(0, start + 6);
    return nul > 0 && nul < end && parseNotifyStatement(chunk.toString('utf8', start + 6, nul)) !== null;
  }

  /**
   * Whether the Query at `start` is one LISTEN/UNLISTEN statement whole in the current chunk: then
   * the scan stops at it (onIntercepted). A Query split across reads is left to the server.
   */
  private notifyQuery(start: number, length: number): boolean {
    const chunk = this.clientChunk;
    const end = start + 1 + length;
    if (start < 0 || end > chunk.length || length > MAX_NOTIFY_QUERY || !startsLikeNotify(chunk, start + 5, end)) return false;
    const stmt = parseNotifyStatement(chunk.toString('utf8', start + 5, end - 1));
    if (stmt === null) return false;
    this.notifyStmt = stmt;
    this.stopType = FE_QUERY;
    this.stopAt = start;
    this.stopLength = length;
    return true;
  }

  /** A Query whose first byte may begin PREPARE: stop the scan there in transaction mode. */
  private stopForSql(length: number): true | undefined {
    if (!this.client.transactionMode) return undefined;
    this.stopType = STOP_SQL;
    this.stopLength = length;
    return true;
  }

  /**
   * The scan stopped at a Query that may begin with PREPARE, its body at `at`: a PREPARE (or a
   * text not complete enough to tell) turns the stop into FE_PARSE's (the prepared session takes
   * the chunk); otherwise the rest of the chunk is scanned on. False when the client was failed.
   */
  private scanPastSql(chunk: Buffer, at: number): boolean {
    try {
      while (this.stopType === STOP_SQL) {
        const end = at + this.stopLength - 5;
        if (beginsWithPrepare(chunk, at, Math.min(end, chunk.length), end <= chunk.length) !== 0) {
          this.stopType = FE_PARSE;
          return true;
        }
        this.stopType = 0;
        // Offsets the scan of the rest records are relative to `at`: made the chunk's.
        const swapsBefore = this.portalSwaps === null ? 0 : this.portalSwaps.length;
        const base = at;
        // notifyQuery/notifyParse read the messages at the offsets of this scan.
        this.clientChunk = chunk.subarray(at);
        at += this.scanner.scan(this.clientChunk, this);
        if (this.stopType !== 0) this.stopAt += base;
        const swaps = this.portalSwaps;
        if (swaps !== null) for (let i = swapsBefore; i < swaps.length; i++) swaps[i]! += base;
      }
    } catch (err) {
      if (!(err instanceof ScanError)) throw err;
      this.client.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation');
      return false;
    }
    return true;
  }

  onMessage(type: number, first: number, start: number, length: number): boolean | void {
    const c = this.client;
    switch (type) {
      case FE_QUERY:
        if (c.transactionMode && mayBeNotify(first) && this.notifyQuery(start, length)) return true;
        // A simple Query destroys the unnamed portal (protocol docs, "Extended Query").
        c.pending++;
        c.unnamedPortal = PORTAL_NONE;
        // SQL PREPARE in transaction mode is mapped by the prepared session (sql-prepare.ts): a
        // text starting with p/P, white space or a comment is looked at (onClientData).
        if (SQL_FIRST[first & 0xff] === 1) return this.stopForSql(length);
        return;
      case FE_FUNCTION_CALL:
        c.pending++;
        return;
      case FE_SYNC:
        c.pending++;
        this.unsynced = false;
        if (c.unnamedPortal === PORTAL_BATCH) c.unnamedPortal = PORTAL_EARLIER;
        return;
      case FE_TERMINATE:
        this.stopType = FE_TERMINATE;
        this.stopAt = start;
        return true;
      case FE_PARSE:
        // A named statement in transaction mode must be mapped per server connection: from here
        // on this client has a prepared session (frontend/prepared-session.ts). So must an
        // unnamed LISTEN/UNLISTEN: the session tracks it through its Bind and Execute.
        if (c.transactionMode && (first !== 0 || this.notifyParse(start, length))) {
          this.stopType = FE_PARSE;
          this.stopAt = start;
          return true;
        }
        this.unsynced = true;
        this.owed++;
        return;
      case FE_BIND:
        if (first === 0) c.unnamedPortal = PORTAL_BATCH;
        this.unsynced = true;
        this.owed++;
        return;
      case FE_DESCRIBE:
      case FE_EXECUTE:
        if (targetsUnnamedPortal(type, first, length) && !unnamedPortalSafe(c.unnamedPortal, c.pending, c.txStatus)) {
          (this.portalSwaps ??= []).push(start, start + 1 + length);
          c.portalGone++;
        }
        this.unsynced = true;
        this.owed++;
        return;
      case FE_CLOSE:
        this.unsynced = true;
        this.owed++;
        return;
      case FE_FLUSH:
      case FE_COPY_DATA:
      case FE_COPY_DONE:
      case FE_COPY_FAIL:
      case FE_PASSWORD: // valid only during authentication: the server rejects it
        return;
      default:
        // PostgreSQL answers an unknown type with FATAL 08P01 "invalid frontend message type";
        // we do the same before it reaches (and kills) a shared server connection.
        this.stopType = type;
        this.stopAt = start;
        return true;
    }
  }

  /**
   * The held-back bytes and the rest of a message already sent as PORTAL_GONE_PARSE, taken from
   * the fast path when the prepared session starts: returns the part of `chunk` the session frames.
   * `tailBefore`: the chunk begins with that many bytes of a message whose start went before.
   */
  handOver(chunk: Buffer, tailBefore: number): Buffer {
    const carry = this.carry;
    this.carry = null;
    if (this.swallow > 0) {
      // The rest of a message already sent as PORTAL_GONE_PARSE (no carry then: it began earlier).
      chunk = chunk.subarray(this.swallow);
      this.swallow = 0;
    } else if (tailBefore > 0) {
      // The rest of a message whose start went to the server (or its queue) in an earlier read:
      // it follows its start as is; the session's framing begins at the first message starting here.
      this.client.forward(chunk.subarray(0, tailBefore));
      chunk = chunk.subarray(tailBefore);
    }
    return carry === null ? chunk : Buffer.concat([carry, chunk]);
  }

  /**
   * Forwards chunk[0, end) with each Execute/Describe of '' recorded in portalSwaps sent as
   * PORTAL_GONE_PARSE instead, and keeps chunk[end..] as the carry. A replaced message may have
   * begun in the held-back carry (start < 0) or end in a later chunk (swallow).
   */
  private forwardSwapped(chunk: Buffer, end: number): void {
    const swaps = this.portalSwaps ?? [];
    this.portalSwaps = null;
    const parts: Buffer[] = [];
    let at = Math.min(this.swallow, end);
    this.swallow -= at;
    if (this.carry !== null && !(swaps.length > 0 && swaps[0]! < 0)) parts.push(this.carry);
    this.carry = null;
    for (let i = 0; i < swaps.length; i += 2) {
      const s = Math.max(swaps[i]!, 0);
      const e = swaps[i + 1]!;
      if (s > at) parts.push(chunk.subarray(at, s));
      parts.push(PORTAL_GONE_PARSE);
      at = Math.min(e, chunk.length);
      if (e > chunk.length) this.swallow = e - chunk.length;
    }
    if (end > at) parts.push(chunk.subarray(at, end));
    if (end < chunk.length) this.carry = Buffer.from(chunk.subarray(end));
    if (parts.length > 0) this.client.forward(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  private onIntercepted(chunk: Buffer): Buffer | null {
    const type = this.stopType;
    const at = this.stopAt;
    this.stopType = 0;
    // Forward what preceded the intercepted message. Held-back header bytes belong to it when it
    // began in the previous chunk (at < 0); either way nothing of it reached the server.
    if (this.portalSwaps !== null || this.swallow > 0) {
      if (at >= 0) this.forwardSwapped(chunk, at);
      else this.portalSwaps = null;
    } else if (at >= 0) {
      if (this.carry !== null) this.client.forward(this.carry);
      if (at > 0) this.client.forward(chunk.subarray(0, at));
    }
    this.carry = null;
    if (type === FE_QUERY) {
      // A LISTEN/UNLISTEN whole in this chunk (notifyQuery): its body is skipped, and the client
      // answers or forwards it.
      const end = at + 1 + this.stopLength;
      const stmt = this.notifyStmt!;
      this.notifyStmt = null;
      this.scanner.scan(chunk.subarray(at + 5, end), NO_MESSAGES);
      return this.client.notifyStatement(stmt, chunk.subarray(at, end), chunk.subarray(end));
    }
    this.client.intercepted(type);
    return null;
  }

  // ---- server → client ------------------------------------------------------------------

  /** Scans and writes a server chunk: SERVER_BROKEN, CHUNK_PASSED or RELEASE_DUE. */
  onServerData(chunk: Buffer, server: ServerConnection): number {
    this.serverChunk = chunk;
    this.releaseDue = false;
    try {
      server.scanner.scan(chunk, this.serverSink);
    } catch {
      this.serverChunk = EMPTY;
      this.replacements = null;
      server.close('server_error');
      return SERVER_BROKEN;
    }
    this.serverChunk = EMPTY;
    let ok: boolean;
    if (this.replacements === null) ok = this.client.socket.write(chunk);
    else ok = this.writeReplaced(chunk, this.replacements);
    // Backpressure: stop reading from the server until the client catches up, so a large result
    // to a slow client costs a bounded amount of memory.
    if (!ok) this.client.flow.clientFull(server);
    return this.releaseDue ? RELEASE_DUE : CHUNK_PASSED;
  }

  /** A message for the client at offset `at` of the server chunk being written. */
  insertReply(at: number, reply: Buffer): void {
    (this.replacements ??= []).push(at, at, reply);
  }

  /** Writes `chunk` with the messages recorded in `replacements` rewritten (rare). */
  private writeReplaced(chunk: Buffer, r: Array<number | Buffer>): boolean {
    this.replacements = null;
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < r.length; i += 3) {
      const start = r[i] as number;
      parts.push(chunk.subarray(at, start), r[i + 2] as Buffer);
      at = r[i + 1] as number;
    }
    parts.push(chunk.subarray(at));
    return this.client.socket.write(Buffer.concat(parts));
  }

  /** One server message (called through ServerSink). */
  onServerMessage(type: number, first: number, start: number, length: number): void {
    const c = this.client;
    switch (type) {
      case BE_BIND_COMPLETE: // planning may have run functions (constant folding)
      case BE_PORTAL_SUSPENDED:
        c.server!.dirty = true;
        if (this.owed > 0) this.owed--;
        return;
      case BE_PARSE_COMPLETE:
        // The unnamed statement (named ones go through the prepared session in transaction mode)
        // lasts until the next unnamed Parse or simple Query: reset before the next client, whose
        // Bind of '' would run it (protocol docs, "Extended Query").
        c.server!.dirty = true;
        if (this.owed > 0) this.owed--;
        return;
      case BE_CLOSE_COMPLETE:
      case BE_NO_DATA:
      case BE_ROW_DESCRIPTION:
      case BE_EMPTY_QUERY_RESPONSE:
        if (this.owed > 0) this.owed--;
        return;
      case BE_FUNCTION_CALL_RESPONSE:
        c.server!.dirty = true;
        return;
      case BE_NOTIFICATION_RESPONSE:
        // Transaction mode: the client's notifications come from the tenant's listening connection
        // (notify-client.ts); a pool connection hears one only for a LISTEN of this transaction,
        // about to be undone by the reset — a copy the client must not get twice.
        if (c.transactionMode && start >= 0 && start + 1 + length <= this.serverChunk.length) (this.replacements ??= []).push(start, start + 1 + length, EMPTY);
        return;
      case BE_READY_FOR_QUERY: {
        this.owed = 0;
        const l = c.listens;
        if (l !== null && l.busy) l.onReady(first);
        if (c.pending > 0) c.pending--;
        c.inspector.requestsDone();
        c.txStatus = first;
        if (c.pending === 0) c.answered(first);
        if (first === TX_IDLE && c.pending === 0) {
          c.transactions++;
          if ((c.transactionMode || c.closeAfter !== null) && c.clientAtBoundary()) this.releaseDue = true;
        }
        return;
      }
      case BE_COMMAND_COMPLETE:
      case BE_ERROR_RESPONSE:
      case BE_PARAMETER_STATUS: {
        // CommandComplete ends an Execute; after an ErrorResponse the server skips to Sync. Either
        // means a statement ran: the session may hold state the next client must not see.
        if (type === BE_COMMAND_COMPLETE) {
          if (this.owed > 0) this.owed--;
          c.server!.dirty = true;
        } else if (type === BE_ERROR_RESPONSE) {
          this.owed = 0;
          c.server!.dirty = true;
        }
        const r = c.inspector.inspectOrCapture(type, first, start, length, this.serverChunk);
        if (r !== null) (this.replacements ??= []).push(start, start + 1 + length, r);
        return;
      }
    }
  }
}

/**
 * The server side's scan sink: a one-field object rather than a closure (plus its context) per
 * client; the call stays monomorphic.
 */
class ServerSink implements ScanSink {
  private readonly fast: FastPath;

  constructor(fast: FastPath) {
    this.fast = fast;
  }

  onMessage(type: number, first: number, start: number, length: number): void {
    this.fast.onServerMessage(type, first, start, length);
  }
}
