// The requests of a prepared session (prepared-session.ts) still awaiting their replies, in the
// order the server answers them. Protocol docs, "Extended Query" and "Message Flow": one reply
// per Parse, Bind, Describe, Close and Execute, one ReadyForQuery per Sync, Query and FunctionCall;
// after an ErrorResponse the server discards messages until Sync.
import * as codes from '../net/codes.ts';
import type { Statement } from '../prepared/registry.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
const BE_BIND_COMPLETE = codes.BE_BIND_COMPLETE;
const BE_CLOSE_COMPLETE = codes.BE_CLOSE_COMPLETE;
const BE_COMMAND_COMPLETE = codes.BE_COMMAND_COMPLETE;
const BE_EMPTY_QUERY_RESPONSE = codes.BE_EMPTY_QUERY_RESPONSE;
const BE_NO_DATA = codes.BE_NO_DATA;
const BE_PARSE_COMPLETE = codes.BE_PARSE_COMPLETE;
const BE_PORTAL_SUSPENDED = codes.BE_PORTAL_SUSPENDED;
const BE_ROW_DESCRIPTION = codes.BE_ROW_DESCRIPTION;
const FE_BIND = codes.FE_BIND;
const FE_CLOSE = codes.FE_CLOSE;
const FE_DESCRIBE = codes.FE_DESCRIBE;
const FE_EXECUTE = codes.FE_EXECUTE;
const FE_PARSE = codes.FE_PARSE;

// Entry kinds.
/** The server's reply goes to the client. */
export const PASS = 0;
/** The server's reply to a message the pooler injected is swallowed. */
export const HIDE = 1;
/** Answered by the pooler when the entry reaches the head of the queue. */
export const LOCAL = 2;
/** Sync, Query or FunctionCall: the reply ends with ReadyForQuery. */
export const SYNC = 3;
/** Replies to requests sent before the session began: pass until `count` ReadyForQuery. */
export const BARRIER = 4;

/** Entry.count marking a Parse sent only to obtain the server's "already exists" error. */
export const DUPLICATE = 1;

/**
 * A simple Query carrying a mapped SQL PREPARE / EXECUTE (sql-prepare.ts): how to read its replies.
 * The server ran `prefix` (a PREPARE of `hidden` the pooler added, its CommandComplete hidden)
 * followed by the client's text with its statement name replaced by `serverName`.
 */
export interface SqlQuery {
  /** SQL_PREPARE, SQL_EXECUTE (sql-prepare-text.ts), or SQL_DUPLICATE / SQL_REFUSED (sql-prepare.ts). */
  kind: number;
  clientName: string;
  /** The name that stands for the client's in the server's text (and its errors). */
  serverName: string;
  /** SQL_PREPARE: the statement the client name now refers to, confirmed by its CommandComplete. */
  stmt: Statement | null;
  /** The server-side name the hidden prefix prepares, until its CommandComplete (null: none or done). */
  hiddenName: string | null;
  hiddenStmt: Statement | null;
  /** Characters of the prefix, then where the name stands in the client's text and the two names' lengths (error positions). */
  prefixChars: number;
  nameAt: number;
  clientNameChars: number;
  serverNameChars: number;
  /** A notice to the client before the reply (the name was truncated), or the error shown for the server's 42601 (SQL_REFUSED). */
  notice: Buffer | null;
  error: Buffer | null;
}

export interface Entry {
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
  /** A Query with a mapped SQL PREPARE / EXECUTE, else null. */
  sql: SqlQuery | null;
}

export class RequestQueue {
  private entries: Entry[] = [];
  private head = 0;

  get length(): number {
    return this.entries.length - this.head;
  }

  push(kind: number, req: number, stmt: Statement | null, name: string | null, bytes: Buffer | null, withReady = false, count = 0, sql: SqlQuery | null = null): void {
    this.entries.push({ kind, req, stmt, name, bytes, withReady, count, sql });
  }

  peek(): Entry | undefined {
    return this.entries[this.head];
  }

  pop(): void {
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    if (this.head === this.entries.length) this.clear();
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
  }
}

/** Whether a reply message of `type` ends the reply to a request of type `req`. */
export function completes(req: number, type: number): boolean {
  switch (req) {
    case FE_PARSE:
      return type === BE_PARSE_COMPLETE;
    case FE_BIND:
      return type === BE_BIND_COMPLETE;
    case FE_CLOSE:
      return type === BE_CLOSE_COMPLETE;
    case FE_DESCRIBE:
      return type === BE_ROW_DESCRIPTION || type === BE_NO_DATA;
    case FE_EXECUTE:
      return type === BE_COMMAND_COMPLETE || type === BE_EMPTY_QUERY_RESPONSE || type === BE_PORTAL_SUSPENDED;
    default:
      return false;
  }
}
