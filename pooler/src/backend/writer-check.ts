// Is a freshly opened server connection talking to the writer? After a failover the old primary
// may come back as a standby (or a DNS name may still point at a reader): a connection there would
// accept the login and then fail every write with 25006. Pools of cluster targets check each new
// connection before using it (docs/architecture.md, "Reload semantics": the pooler notices a demoted
// writer on its own).
//
// PostgreSQL 14+ reports `in_hot_standby` as a ParameterStatus during start-up (PostgreSQL docs,
// "Frontend/Backend Protocol", ParameterStatus; "Preset Options", in_hot_standby), which answers
// the question without a round trip. Older servers (and servers that do not report it) are asked
// `SELECT pg_is_in_recovery()` ("System Administration Functions": true while in recovery, i.e.
// on a standby) with one simple Query before the connection joins the pool.
import { MessageFramer } from '../net/framer.ts';
import { BE_DATA_ROW, BE_ERROR_RESPONSE, BE_READY_FOR_QUERY } from '../net/codes.ts';
import * as msg from '../net/messages.ts';
import { parseErrorFields } from '../net/parse.ts';
import { ServerConnectError, type ServerHandshake } from './connect.ts';

/** The server answered, but it is a standby (in recovery): not usable for a writer pool. */
export class NotWriterError extends ServerConnectError {
  readonly reason = 'not_writer' as const;
  constructor(host: string, port: number) {
    super(`server ${host}:${port} is in recovery (a standby), not the writer`);
    this.name = 'NotWriterError';
  }
}


/**
 * Resolves when the server is the writer; rejects with NotWriterError when it is a standby, or
 * ServerConnectError when it could not tell. On rejection the socket is destroyed; on success
 * the socket is left exactly as connectServer() handed it over (no listeners, nothing buffered).
 */
export function checkWriter(hs: ServerHandshake, where: { host: string; port: number }, timeoutMs: number): Promise<void> {
  const reported = hs.params.get('in_hot_standby');
  if (reported === 'off') return Promise.resolve();
  if (reported === 'on') {
    hs.socket.destroy();
    return Promise.reject(new NotWriterError(where.host, where.port));
  }
  return askInRecovery(hs, where, timeoutMs);
}

function askInRecovery(hs: ServerHandshake, where: { host: string; port: number }, timeoutMs: number): Promise<void> {
  const socket = hs.socket;
  return new Promise<void>((resolve, reject) => {
    const framer = new MessageFramer(64 * 1024);
    let answer: string | null | undefined;
    let serverError: ServerConnectError | undefined;
    let settled = false;

    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    const fail = (err: ServerConnectError): void => {
      if (settled) return;
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(new ServerConnectError(`writer check on ${where.host}:${where.port} failed: ${err.message}`, undefined, err));
    const onClose = (): void => fail(new ServerConnectError(`server ${where.host}:${where.port} closed the connection during the writer check`));
    const onData = (chunk: Buffer): void => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m; m = framer.next()) {
          if (m.type === BE_DATA_ROW) {
            answer = firstColumn(m.body);
          } else if (m.type === BE_ERROR_RESPONSE) {
            const f = parseErrorFields(m.body);
            serverError = new ServerConnectError(`writer check on ${where.host}:${where.port} failed: ${f.M ?? 'unknown error'}`, f.C);
          } else if (m.type === BE_READY_FOR_QUERY) {
            if (framer.takeRest().length > 0) return fail(new ServerConnectError('server sent data after ReadyForQuery during the writer check'));
            if (serverError) return fail(serverError);
            if (answer === 'f') {
              cleanup();
              resolve();
              return;
            }
            if (answer === 't') return fail(new NotWriterError(where.host, where.port));
            return fail(new ServerConnectError(`writer check on ${where.host}:${where.port}: unexpected answer to pg_is_in_recovery()`));
          }
          // RowDescription, CommandComplete, NoticeResponse, ParameterStatus: nothing to do.
        }
      } catch (err) {
        fail(new ServerConnectError(`writer check on ${where.host}:${where.port} failed: ${(err as Error).message}`, undefined, err));
      }
    };
    const timer = setTimeout(() => fail(new ServerConnectError(`writer check on ${where.host}:${where.port} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(msg.query('SELECT pg_is_in_recovery()'));
  });
}

/** The text value of the first column of a DataRow (Int16 count, then Int32 length + bytes). */
function firstColumn(body: Buffer): string | null | undefined {
  if (body.length < 2 || body.readInt16BE(0) < 1 || body.length < 6) return undefined;
  const len = body.readInt32BE(2);
  if (len < 0) return null;
  if (body.length < 6 + len) return undefined;
  return body.toString('utf8', 6, 6 + len);
}
