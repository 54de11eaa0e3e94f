// One admin console session (database `switchyard` or `pgbouncer`), handed over by the login code
// once the admin user authenticated. Simple query protocol only (PostgreSQL docs, "Simple Query"):
// each Query message is one admin command, answered with RowDescription/DataRow/CommandComplete or
// an ErrorResponse, then ReadyForQuery. Extended-protocol messages get one error and are skipped up
// to Sync, as a server does after an error (docs, "Extended Query"), so drivers that prepare by
// default get a clear message instead of a hang. Commands run one at a time, in order.
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { PoolerError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { OUTPUT_HIGH_WATER } from '../net/backpressure.ts';
import { MessageFramer, ProtocolError } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { runAdminCommand } from './dispatch.ts';
import type { AdminHost, AdminSessionView } from './host.ts';
import {
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
} from '../net/codes.ts';
import { AdminError, encodeReply } from './result.ts';
import { VERSION } from './show-version.ts';

export interface AdminSessionHost extends AdminHost {
  readonly log: Logger;
  adminSessionGone(session: AdminSession): void;
}

const EXTENDED = new Set([FE_PARSE, FE_BIND, FE_DESCRIBE, FE_EXECUTE, FE_CLOSE, FE_FLUSH]);
/** Ignored outside COPY, as PostgreSQL does. */
const COPY = new Set([FE_COPY_DATA, FE_COPY_DONE, FE_COPY_FAIL]);

let nextSessionId = 1;

export class AdminSession implements AdminSessionView {
  readonly id = nextSessionId++;
  readonly socket: Socket;
  readonly user: string;
  readonly database: string;
  readonly applicationName: string;
  readonly connectedAt = Date.now();
  lastRequestAt = Date.now();
  private readonly host: AdminSessionHost;
  private readonly log: Logger;
  private readonly framer = new MessageFramer(64 * 1024);
  private busy = false;
  /** After an extended-protocol message: discard until Sync. */
  private skipToSync = false;
  /** Not reading: the client has not taken its replies yet (net/backpressure.ts); 'drain' resumes. */
  private awaitingDrain = false;
  /**
   * Replies of the messages handled in one pump(), written as one buffer: queued in the socket
   * one by one, thousands of 6-byte ReadyForQuery would each cost far more than their bytes.
   */
  private out: Buffer[] = [];
  private outBytes = 0;
  private closed = false;

  constructor(socket: Socket, host: AdminSessionHost, params: Readonly<Record<string, string>>) {
    this.socket = socket;
    this.host = host;
    this.user = params.user ?? '';
    this.database = params.database || this.user;
    this.applicationName = params.application_name ?? '';
    this.log = host.log.child({ admin: this.id, user: this.user });
  }

  /** Completes the start-up (after AuthenticationOk) and serves commands; `rest` = bytes already received. */
  start(rest: Buffer): void {
    // What PgBouncer's console reports, with our version: drivers need client_encoding and
    // standard_conforming_strings; the "/switchyard" suffix tells tools this is not PostgreSQL.
    const params: [string, string][] = [
      ['server_version', `${VERSION}/switchyard`],
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO'],
      ['TimeZone', 'UTC'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
      ['is_superuser', 'on'],
      ['application_name', this.applicationName],
    ];
    const out = params.map(([k, v]) => msg.parameterStatus(k, v));
    // A key for form's sake: cancelling an admin command is not supported (the cancel finds no client).
    out.push(msg.backendKeyData(randomInt(1, 0x7fffffff), randomInt(0, 0x7fffffff)), msg.readyForQuery('I'));
    this.socket.write(Buffer.concat(out));
    this.socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk);
      this.pump();
    });
    // 'end': the client half-closed (the listener allows half-open sockets, for cancel requests).
    this.socket.on('end', () => this.close());
    this.socket.on('close', () => this.close());
    this.socket.on('error', () => this.close());
    this.log.info({ database: this.database }, 'admin console session started');
    if (rest.length > 0) {
      this.framer.push(rest);
      this.pump();
    }
  }

  /**
   * Runs the commands received so far, one at a time, while the client takes its replies: past
   * OUTPUT_HIGH_WATER of unread replies it stops, and stops reading, until the client catches up.
   */
  private pump(): void {
    try {
      while (!this.busy && !this.closed) {
        if (this.socket.writableLength + this.outBytes > OUTPUT_HIGH_WATER) {
          this.flush();
          return this.awaitDrain();
        }
        const m = this.framer.next();
        if (m === undefined) break;
        this.handle(m.type, m.body);
      }
      this.flush();
    } catch (err) {
      this.flush();
      const message = err instanceof ProtocolError ? err.message : 'invalid message';
      this.terminate(new PoolerError('PROTOCOL_VIOLATION', message));
    }
  }

  private reply(b: Buffer): void {
    this.out.push(b);
    this.outBytes += b.length;
  }

  private flush(): void {
    if (this.out.length === 0) return;
    if (!this.closed) this.socket.write(this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out));
    this.out = [];
    this.outBytes = 0;
  }

  private awaitDrain(): void {
    this.socket.pause();
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.socket.once('drain', () => {
      this.awaitingDrain = false;
      if (this.busy || this.closed) return;
      this.socket.resume();
      this.pump();
    });
  }

  private handle(type: number, body: Buffer): void {
    if (type === FE_TERMINATE) {
      this.flush();
      return this.close();
    }
    if (type === FE_SYNC) {
      this.skipToSync = false;
      this.reply(msg.readyForQuery('I'));
      return;
    }
    if (this.skipToSync || COPY.has(type)) return;
    if (type === FE_QUERY) return this.runQuery(body);
    if (EXTENDED.has(type) || type === FE_FUNCTION_CALL) {
      this.reply(
        this.errorMessage(new AdminError('EXTENDED_PROTOCOL', 'the admin console supports only the simple query protocol', 'send the command as a simple query (psql does)')),
      );
      // A FunctionCall has no Sync: it gets its ReadyForQuery at once.
      if (type === FE_FUNCTION_CALL) this.reply(msg.readyForQuery('I'));
      else this.skipToSync = true;
      return;
    }
    throw new ProtocolError(`invalid frontend message type ${type}`);
  }

  private runQuery(body: Buffer): void {
    const end = body.length > 0 && body[body.length - 1] === 0 ? body.length - 1 : body.length;
    const nul = body.indexOf(0);
    if (nul >= 0 && nul < end) {
      // A NUL inside the text: PostgreSQL's "invalid message format" (pq_getmsgend), an ERROR. The
      // text must not reach an error message either, which cannot carry a NUL.
      this.socket.write(Buffer.concat([msg.errorResponse({ severity: 'ERROR', code: '08P01', message: 'invalid message format' }), msg.readyForQuery('I')]));
      return;
    }
    const text = body.toString('utf8', 0, end);
    this.lastRequestAt = Date.now();
    this.busy = true;
    // One command at a time (PAUSE may take a while): stop reading until it is answered.
    this.socket.pause();
    this.log.info({ command: text.length > 200 ? `${text.slice(0, 200)}...` : text }, 'admin command');
    runAdminCommand(this.host, text)
      .then(
        (outcome) => {
          if (this.closed) return;
          this.socket.write(Buffer.concat([outcome.reply === null ? msg.emptyQueryResponse() : encodeReply(outcome.reply), msg.readyForQuery('I')]));
          outcome.after?.();
        },
        (err: unknown) => {
          if (this.closed) return;
          if (!(err instanceof AdminError)) this.log.error({ err }, 'admin command failed');
          else this.log.info({ code: err.code }, err.message);
          this.socket.write(Buffer.concat([this.errorMessage(err), msg.readyForQuery('I')]));
        },
      )
      .finally(() => {
        this.busy = false;
        if (this.closed) return;
        if (!this.awaitingDrain) this.socket.resume();
        this.pump();
      });
  }

  private errorMessage(err: unknown): Buffer {
    if (err instanceof AdminError) return msg.errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message, hint: err.hint });
    return msg.errorResponse({ severity: 'ERROR', code: 'XX000', message: `internal error: ${(err as Error).message}` });
  }

  /** Ends the session with a FATAL error (shutdown, protocol violation). */
  terminate(err: PoolerError): void {
    if (this.closed) return;
    if (this.socket.writable) this.socket.write(msg.errorResponse({ severity: 'FATAL', code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.socket.destroyed) this.socket.end();
    this.socket.destroySoon();
    this.log.info('admin console session ended');
    this.host.adminSessionGone(this);
  }
}
