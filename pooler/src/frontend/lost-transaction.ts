// A transaction whose server connection died (the primary stopped, a failover, an admin
// terminate) while the client was inside it. In transaction mode the client keeps its connection
// (docs/architecture.md: only transactions in flight may fail): like PostgreSQL in a failed transaction
// block, the pooler answers every request with 25P02 (the first one with the reason) until the
// client ends the block; after that its requests go to a server connection again. Nothing of the
// lost transaction can be replayed, so nothing is sent to a server meanwhile, and nothing the
// client sends before the end of the block may run outside it: the outcome is all or nothing.
//
// What ends the block (transaction-exit.ts): a bare ROLLBACK/ABORT/COMMIT/END [WORK|TRANSACTION]
// [AND NO CHAIN], answered ROLLBACK as PostgreSQL answers it in a failed block, by simple Query or
// by Parse/Bind/Execute of the unnamed statement (or of a named one prepared before the loss).
// Differences from PostgreSQL, all on the side of keeping the block failed:
// - ROLLBACK TO SAVEPOINT fails with 25P02 (the savepoints died with the server connection);
// - PREPARE TRANSACTION fails with 25P02 (PostgreSQL answers ROLLBACK and ends the block);
// - ... AND CHAIN ends the block with ROLLBACK, but the chained transaction cannot be begun on a
//   server with the lost one's characteristics (isolation level, read-only), so the new block is
//   failed at once: ROLLBACK, then 25P02, then ReadyForQuery 'E'. The client ends it with ROLLBACK;
// - Parse of a named statement, Bind to a named portal and Close of a named statement or portal
//   fail with 25P02 (the client's statement names are tracked against server connections).
import { CLOSE_COMPLETE, PARSE_COMPLETE, decodeBindNames, decodeParse, decodeTarget } from '../net/extended.ts';
import {
  BE_BIND_COMPLETE,
  BE_NO_DATA,
  BE_PARAMETER_DESCRIPTION,
  FE_BIND,
  FE_CLOSE,
  FE_COPY_DATA,
  FE_COPY_DONE,
  FE_COPY_FAIL,
  FE_DESCRIBE,
  FE_EXECUTE,
  FE_FLUSH,
  FE_FUNCTION_CALL,
  FE_PARSE,
  FE_QUERY,
  FE_SYNC,
  FE_TERMINATE,
  TARGET_PORTAL,
  TARGET_STATEMENT,
} from '../net/codes.ts';
import { MessageFramer, ProtocolError } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import type { ClientStatements } from '../prepared/client-names.ts';
import { firstStatement, type ExitKind, type FirstStatement } from './transaction-exit.ts';

const ABORTED_MESSAGE = 'current transaction is aborted, commands ignored until end of transaction block';
const ABORTED = msg.errorResponse({ severity: 'ERROR', code: '25P02', message: ABORTED_MESSAGE });
const SAVEPOINT_LOST = msg.errorResponse({
  severity: 'ERROR',
  code: '25P02',
  message: ABORTED_MESSAGE,
  detail: 'The savepoint was lost with the server connection of the transaction.',
  hint: 'End the transaction block with ROLLBACK.',
});
const CHAIN_FAILED = msg.errorResponse({
  severity: 'ERROR',
  code: '25P02',
  message: ABORTED_MESSAGE,
  detail: 'The chained transaction could not be begun: the server connection of the previous one was lost.',
  hint: 'End the transaction block with ROLLBACK.',
});
const ROLLBACK = msg.commandComplete('ROLLBACK');
const READY_FAILED = msg.readyForQuery('E');
const READY_IDLE = msg.readyForQuery('I');
const EMPTY_QUERY = msg.emptyQueryResponse();
const BIND_COMPLETE = Buffer.from([BE_BIND_COMPLETE, 0, 0, 0, 4]);
const NO_DATA = Buffer.from([BE_NO_DATA, 0, 0, 0, 4]);
/** ParameterDescription with no parameters. */
const NO_PARAMETERS = Buffer.from([BE_PARAMETER_DESCRIPTION, 0, 0, 0, 6, 0, 0]);


/** An exit statement's effect: 'end' or 'chain'. */
type Exit = 'end' | 'chain';

/**
 * The Parse body after the statement name (query text, NUL, parameter types) of a named statement
 * the client prepared before the loss, or undefined.
 */
export type PreparedText = (name: string) => Buffer | undefined;

/** The texts of the client's named statements (a prepared session's, prepared-session.ts), looked up when asked. */
export function preparedTextOf(statements: ClientStatements | undefined): PreparedText {
  return (name) => {
    const s = statements?.get(name);
    return s === undefined ? undefined : Buffer.from(s.key, 'latin1');
  };
}

/**
 * A transaction-mode client whose server connection died with both streams at a message boundary
 * keeps its connection: its `pending` requests are answered with `error` and ReadyForQuery, and
 * inside a transaction block it gets a LostTransaction, which tells the reason with its first
 * answer when no request was outstanding.
 */
export function afterServerLoss(
  error: Buffer,
  pending: number,
  inTransaction: boolean,
  maxMessageSize: number,
  prepared: PreparedText,
): { replies: Buffer | null; lost: LostTransaction | null } {
  let replies: Buffer | null = null;
  if (pending > 0) {
    const out: Buffer[] = [error];
    for (let i = 0; i < pending; i++) out.push(inTransaction ? READY_FAILED : READY_IDLE);
    replies = Buffer.concat(out);
  }
  return { replies, lost: inTransaction ? new LostTransaction(maxMessageSize, pending > 0 ? null : error, prepared) : null };
}

export interface LostReply {
  replies: Buffer[];
  /** The block has ended: `rest` is to be handled normally. */
  ended: boolean;
  rest: Buffer;
  terminated: boolean;
}

export class LostTransaction {
  private readonly framer: MessageFramer;
  /** The reason, told with the first error answer. */
  private reason: Buffer | null;
  private readonly prepared: PreparedText;
  /** An error was answered since the last Sync: PostgreSQL discards messages up to Sync. */
  private erroredSinceSync = false;
  /** What the unnamed statement and the unnamed portal are, if Parse/Bind made them an exit statement here. */
  private unnamedStatement: Exit | null = null;
  private unnamedPortal: Exit | null = null;

  constructor(maxMessageSize: number, reason: Buffer | null, prepared: PreparedText = () => undefined) {
    this.framer = new MessageFramer(maxMessageSize);
    this.reason = reason;
    this.prepared = prepared;
  }

  /**
   * Answers what the client sent. Returns the replies and, once the block has ended, the bytes
   * that followed (to be handled normally); `ended` is false while the block is still open.
   */
  onClientData(chunk: Buffer): LostReply {
    this.framer.push(chunk);
    const replies: Buffer[] = [];
    for (let m = this.framer.next(); m !== undefined; m = this.framer.next()) {
      if (m.type === FE_TERMINATE) return { replies, ended: true, rest: Buffer.alloc(0), terminated: true };
      if (m.type === FE_SYNC) {
        // A pending reason is told even to a lone Sync; otherwise Sync just reports the state.
        if (this.reason !== null) replies.push(this.error(ABORTED));
        this.erroredSinceSync = false;
        replies.push(READY_FAILED);
        continue;
      }
      if (this.erroredSinceSync) continue;
      switch (m.type) {
        case FE_QUERY: {
          const end = m.body.indexOf(0);
          const first = firstStatement(m.body, 0, end < 0 ? m.body.length : end);
          if (first.kind === 'end') {
            replies.push(ROLLBACK);
            const rest = this.framer.takeRest();
            if (!first.more) {
              replies.push(READY_IDLE);
              return { replies, ended: true, rest, terminated: false };
            }
            // "ROLLBACK; INSERT ...": PostgreSQL runs the statements after it outside the ended
            // block, in one implicit transaction, as the server will run this Query of them.
            const more = queryOf(m.body.subarray(first.restStart, end < 0 ? m.body.length : end));
            return { replies, ended: true, rest: rest.length === 0 ? more : Buffer.concat([more, rest]), terminated: false };
          }
          if (first.kind === 'empty') replies.push(EMPTY_QUERY, READY_FAILED);
          else if (first.kind === 'chain') replies.push(ROLLBACK, this.chainFailed(), READY_FAILED);
          else replies.push(this.error(errorFor(first.kind)), READY_FAILED);
          break;
        }
        case FE_FUNCTION_CALL:
          replies.push(this.error(ABORTED), READY_FAILED);
          break;
        case FE_PARSE: {
          const { name, rest } = decodeParse(m.body);
          const first = firstStatement(rest, 0, textEnd(rest));
          const exit = exitOf(first);
          if (name === '') this.unnamedStatement = exit;
          if (exit !== null && name === '') replies.push(PARSE_COMPLETE);
          else this.fail(replies, errorFor(first.kind));
          break;
        }
        case FE_BIND: {
          const { statement, portalEnd, statementEnd } = decodeBindNames(m.body);
          const exit = this.statement(statement);
          // An exit statement takes no parameters: the parameter count after the format codes must be 0.
          if (exit !== null && portalEnd === 0 && bindHasNoParameters(m.body, statementEnd + 1)) {
            this.unnamedPortal = exit;
            replies.push(BIND_COMPLETE);
          } else {
            if (portalEnd === 0) this.unnamedPortal = null;
            this.fail(replies, ABORTED);
          }
          break;
        }
        case FE_DESCRIBE: {
          const { kind, name } = decodeTarget(m.body);
          if (kind === TARGET_STATEMENT && this.statement(name) !== null) replies.push(NO_PARAMETERS, NO_DATA);
          else if (kind === TARGET_PORTAL && name === '' && this.unnamedPortal !== null) replies.push(NO_DATA);
          else this.fail(replies, ABORTED);
          break;
        }
        case FE_EXECUTE: {
          const portalEnd = m.body.indexOf(0);
          const exit = portalEnd === 0 ? this.unnamedPortal : null;
          if (exit === null) {
            this.fail(replies, ABORTED);
            break;
          }
          replies.push(ROLLBACK);
          this.unnamedPortal = null;
          if (exit === 'chain') {
            replies.push(this.chainFailed());
            this.erroredSinceSync = true;
            break;
          }
          // The block ends here, at Execute, as in PostgreSQL (finish_xact_command); what follows
          // up to Sync runs in a new implicit transaction on a server connection.
          return this.endAtExecute(replies);
        }
        case FE_CLOSE: {
          const { kind, name } = decodeTarget(m.body);
          if (name !== '') this.fail(replies, ABORTED);
          else {
            if (kind === TARGET_STATEMENT) this.unnamedStatement = null;
            else this.unnamedPortal = null;
            replies.push(CLOSE_COMPLETE);
          }
          break;
        }
        case FE_FLUSH:
          break;
        case FE_COPY_DATA:
        case FE_COPY_DONE:
        case FE_COPY_FAIL:
          // Ignored outside COPY, as PostgreSQL does (a COPY that failed while data was in flight).
          break;
        default:
          this.fail(replies, ABORTED);
      }
    }
    return { replies, ended: false, rest: Buffer.alloc(0), terminated: false };
  }

  /** After an Execute that ended the block: ReadyForQuery now if Sync follows, else the rest goes on. */
  private endAtExecute(replies: Buffer[]): LostReply {
    // Waiting here for the next message would need a state of its own; handing it on is the same
    // to the client (a lone Sync is answered ReadyForQuery 'I' by the server).
    const next = this.framer.next();
    if (next === undefined) return { replies, ended: true, rest: this.framer.takeRest(), terminated: false };
    if (next.type === FE_SYNC) {
      replies.push(READY_IDLE);
      return { replies, ended: true, rest: this.framer.takeRest(), terminated: false };
    }
    return { replies, ended: true, rest: Buffer.concat([next.raw, this.framer.takeRest()]), terminated: false };
  }

  /** What statement `name` is (the unnamed one, or a named one prepared before the loss). */
  private statement(name: string): Exit | null {
    if (name === '') return this.unnamedStatement;
    const text = this.prepared(name);
    return text === undefined ? null : exitOf(firstStatement(text, 0, textEnd(text)));
  }

  /** Answers an extended-protocol message with an error; the rest is skipped up to Sync. */
  private fail(replies: Buffer[], err: Buffer): void {
    replies.push(this.error(err));
    this.erroredSinceSync = true;
  }

  private chainFailed(): Buffer {
    this.reason = null;
    return CHAIN_FAILED;
  }

  private error(err: Buffer): Buffer {
    const r = this.reason;
    if (r !== null) {
      this.reason = null;
      return r;
    }
    return err;
  }
}

function errorFor(kind: ExitKind): Buffer {
  return kind === 'savepoint' ? SAVEPOINT_LOST : ABORTED;
}

/** The statement text of a Parse body's rest (text, NUL, parameter types). */
function textEnd(rest: Buffer): number {
  const end = rest.indexOf(0);
  if (end < 0) throw new ProtocolError('unterminated query text in Parse');
  return end;
}

/** 'end'/'chain' when a statement's text is exactly one exit statement, else null. */
function exitOf(first: FirstStatement): Exit | null {
  if (first.more) return null;
  return first.kind === 'end' || first.kind === 'chain' ? first.kind : null;
}

/** Bind after the names: Int16 format count, formats, then Int16 parameter count. */
function bindHasNoParameters(body: Buffer, at: number): boolean {
  if (at + 2 > body.length) return false;
  const formats = body.readInt16BE(at);
  const countAt = at + 2 + 2 * Math.max(0, formats);
  return countAt + 2 <= body.length && body.readInt16BE(countAt) === 0;
}

/** A Query message of these bytes of SQL text. */
function queryOf(sql: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + 4 + sql.length + 1);
  out[0] = FE_QUERY;
  out.writeInt32BE(4 + sql.length + 1, 1);
  sql.copy(out, 5);
  out[5 + sql.length] = 0;
  return out;
}
