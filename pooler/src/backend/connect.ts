// Opens and authenticates one connection to a PostgreSQL server (the slow path). Protocol docs,
// "Start-up": StartupMessage → Authentication* exchange → ParameterStatus* + BackendKeyData →
// ReadyForQuery. Supports SCRAM-SHA-256, md5 and cleartext, the methods PostgreSQL asks for.
import { connect as netConnect, type Socket } from 'node:net';
import { md5Response } from '../auth/md5.ts';
import { ScramClientSession } from '../auth/scram-client.ts';
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parseAuthRequest, parseBackendKeyData, parseErrorFields, parseParameterStatus } from '../net/parse.ts';

export interface ServerTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Becomes the session's search_path (a startup parameter, so DISCARD ALL keeps it). */
  schema?: string | undefined;
  applicationName?: string;
}

export interface ServerHandshake {
  socket: Socket;
  params: Map<string, string>;
  processId: number;
  secretKey: number;
}

export class ServerConnectError extends Error {
  readonly code = 'SERVER_CONNECT_FAILED';
  /** SQLSTATE when the server itself refused us (e.g. 28P01, 3D000, 57P03), else undefined. */
  readonly serverSqlstate: string | undefined;
  constructor(message: string, serverSqlstate?: string, cause?: unknown) {
    super(message, { cause });
    this.serverSqlstate = serverSqlstate;
  }
}

/** Quotes a schema name for search_path unless it is a plain lower-case identifier. */
export function searchPathValue(schema: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(schema) ? schema : `"${schema.replace(/"/g, '""')}"`;
}

export function connectServer(target: ServerTarget, timeoutMs: number): Promise<ServerHandshake> {
  return new Promise<ServerHandshake>((resolve, reject) => {
    const socket = netConnect({ host: target.host, port: target.port, noDelay: true });
    const framer = new MessageFramer(64 * 1024 * 1024);
    const params = new Map<string, string>();
    let processId = 0;
    let secretKey = 0;
    let scram: ScramClientSession | undefined;
    let settled = false;

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new ServerConnectError(`timed out after ${timeoutMs} ms connecting to ${target.host}:${target.port}`)),
      timeoutMs,
    );

    socket.on('error', (err) => fail(new ServerConnectError(`cannot connect to ${target.host}:${target.port}: ${err.message}`, undefined, err)));
    socket.on('close', () => fail(new ServerConnectError(`server ${target.host}:${target.port} closed the connection during start-up`)));
    socket.on('connect', () => {
      const startup: Record<string, string> = {
        user: target.user,
        database: target.database,
        application_name: target.applicationName ?? 'switchyard',
      };
      if (target.schema) startup.search_path = searchPathValue(target.schema);
      socket.write(msg.startupMessage(startup));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m; m = framer.next()) {
          switch (m.type) {
            case 0x52 /* R */: {
              const req = parseAuthRequest(m.body);
              switch (req.kind) {
                case 'ok':
                  // A server that skips SASLFinal would not have proven it knows the password.
                  if (scram && !scram.completed) throw new ServerConnectError('server ended SCRAM authentication without proving its identity');
                  break;
                case 'cleartext':
                  socket.write(msg.passwordMessage(target.password));
                  break;
                case 'md5':
                  socket.write(msg.passwordMessage(md5Response(target.password, target.user, req.salt!)));
                  break;
                case 'sasl':
                  if (!req.mechanisms?.includes('SCRAM-SHA-256')) {
                    throw new ServerConnectError(`server offers unsupported SASL mechanisms: ${req.mechanisms?.join(', ')}`);
                  }
                  scram = new ScramClientSession(target.password);
                  socket.write(msg.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
                  break;
                case 'sasl-continue':
                  if (!scram) throw new ServerConnectError('unexpected SASLContinue');
                  socket.write(msg.saslResponse(scram.serverFirst(req.data ?? '')));
                  break;
                case 'sasl-final':
                  if (!scram) throw new ServerConnectError('unexpected SASLFinal');
                  scram.serverFinal(req.data ?? '');
                  break;
              }
              break;
            }
            case 0x53 /* S */: {
              const p = parseParameterStatus(m.body);
              params.set(p.name, p.value);
              break;
            }
            case 0x4b /* K */: {
              const k = parseBackendKeyData(m.body);
              processId = k.processId;
              secretKey = k.secretKey;
              break;
            }
            case 0x45 /* E */: {
              const f = parseErrorFields(m.body);
              throw new ServerConnectError(`server ${target.host}:${target.port} refused the connection: ${f.M ?? 'unknown error'}`, f.C);
            }
            case 0x5a /* Z */: {
              if (framer.takeRest().length > 0) throw new ServerConnectError('server sent data after ReadyForQuery during start-up');
              settled = true;
              clearTimeout(timer);
              socket.removeAllListeners('data');
              socket.removeAllListeners('error');
              socket.removeAllListeners('close');
              socket.removeAllListeners('connect');
              resolve({ socket, params, processId, secretKey });
              return;
            }
            default:
              // NoticeResponse, NegotiateProtocolVersion: nothing to do during start-up.
              break;
          }
        }
      } catch (err) {
        fail(err instanceof ServerConnectError ? err : new ServerConnectError(`start-up with ${target.host}:${target.port} failed: ${(err as Error).message}`, undefined, err));
      }
    });
  });
}
