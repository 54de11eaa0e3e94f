// Opens and authenticates one connection to a PostgreSQL server (the slow path). Protocol docs,
// "Start-up": StartupMessage → Authentication* exchange → ParameterStatus* + BackendKeyData →
// ReadyForQuery. Supports SCRAM-SHA-256, md5 and cleartext, the methods PostgreSQL asks for.
// With target TLS, an SSLRequest comes first and the start-up runs inside TLS (server-tls.ts).
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { BE_AUTHENTICATION, BE_BACKEND_KEY_DATA, BE_ERROR_RESPONSE, BE_PARAMETER_STATUS, BE_READY_FOR_QUERY } from '../net/codes.ts';
import { tlsServerEndPoint } from '../auth/channel-binding.ts';
import { md5Response } from '../auth/md5.ts';
import { ScramClientSession } from '../auth/scram-client.ts';
import { ScramIterationsError } from '../auth/scram-keys.ts';
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parseAuthRequest, parseBackendKeyData, parseErrorFields, parseParameterStatus } from '../net/parse.ts';
import { serverTlsOptions, type ServerTls } from './server-tls.ts';

/** A server connection's application_name when no client's is known (pool warm-up, a login's parameter fetch). */
export const DEFAULT_APPLICATION_NAME = 'switchyard';

export interface ServerTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Becomes the session's search_path (a startup parameter, so DISCARD ALL keeps it). */
  schema?: string | undefined;
  /** The start-up application_name (DEFAULT_APPLICATION_NAME when absent): what RESET and DISCARD ALL return the session to. */
  applicationName?: string | undefined;
  /** TLS toward the server (libpq sslmode semantics); absent = disable. */
  tls?: ServerTls | undefined;
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

/**
 * A failure that waiting will not cure (TLS refused or unverifiable, an authentication exchange
 * the pooler cannot complete): waiting clients get the error at once instead of at checkout_timeout.
 */
export class PermanentConnectError extends ServerConnectError {}

/** The server asks for more SCRAM iterations than limits.max_server_scram_iterations (auth/scram-keys.ts). */
export class ScramIterationsConnectError extends PermanentConnectError {
  constructor(message: string, cause: ScramIterationsError) {
    super(message, undefined, cause);
  }
}

const ignoreError = (): void => {};

/** Quotes a schema name for search_path unless it is a plain lower-case identifier. */
export function searchPathValue(schema: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(schema) ? schema : `"${schema.replace(/"/g, '""')}"`;
}

export function connectServer(target: ServerTarget, timeoutMs: number): Promise<ServerHandshake> {
  return new Promise<ServerHandshake>((resolve, reject) => {
    const raw = netConnect({ host: target.host, port: target.port, noDelay: true });
    /** The raw socket, or the TLS socket over it once TLS is up. */
    let socket: Socket = raw;
    const tls = target.tls;
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
      raw.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new ServerConnectError(`timed out after ${timeoutMs} ms connecting to ${target.host}:${target.port}`)),
      timeoutMs,
    );

    const onError = (err: Error): void => fail(new ServerConnectError(`cannot connect to ${target.host}:${target.port}: ${err.message}`, undefined, err));
    const onClose = (): void => fail(new ServerConnectError(`server ${target.host}:${target.port} closed the connection during start-up`));
    raw.on('error', onError);
    raw.on('close', onClose);

    const sendStartup = (): void => {
      const startup: Record<string, string> = {
        user: target.user,
        database: target.database,
        application_name: target.applicationName ?? DEFAULT_APPLICATION_NAME,
      };
      if (target.schema) startup.search_path = searchPathValue(target.schema);
      socket.on('data', onData);
      socket.write(msg.startupMessage(startup));
    };

    // The server answers an SSLRequest with one byte (protocol docs, "SSL Session Encryption").
    const onSslAnswer = (chunk: Buffer): void => {
      raw.removeListener('data', onSslAnswer);
      if (tls === undefined) return;
      const answer = chunk[0];
      // More bytes than the answer arrived unencrypted and may have been injected by a
      // man-in-the-middle (CVE-2021-23222); libpq refuses them too.
      if (chunk.length > 1) return fail(new PermanentConnectError(`received unencrypted data after SSL response from ${target.host}:${target.port}`));
      if (answer === 0x4e /* N */) {
        if (tls.mode === 'prefer') return sendStartup();
        return fail(new PermanentConnectError(`server ${target.host}:${target.port} does not support SSL, but SSL was required (tls mode ${tls.mode})`));
      }
      if (answer !== 0x53 /* S */) {
        // 'E' comes from servers that predate SSL negotiation; anything else is not PostgreSQL.
        return fail(new PermanentConnectError(`received invalid response to SSL negotiation from ${target.host}:${target.port}: 0x${(answer ?? 0).toString(16)}`));
      }
      const secure = tlsConnect(serverTlsOptions(raw, target.host, tls));
      socket = secure;
      secure.on('error', (err) =>
        fail(new PermanentConnectError(`SSL connection to ${target.host}:${target.port} failed (tls mode ${tls.mode}): ${err.message}`, undefined, err)),
      );
      secure.on('close', onClose);
      secure.once('secureConnect', sendStartup);
    };

    raw.on('connect', () => {
      if (tls === undefined) return sendStartup();
      raw.on('data', onSslAnswer);
      raw.write(msg.sslRequest());
    });

    /**
     * Set while the SCRAM keys are derived (off the event loop): the server waits for our answer,
     * and the socket is paused meanwhile, so a server that sends anyway (a tenant's own host) fills
     * the kernel's buffers, not ours, however long the derivation waits for a thread.
     */
    let deriving = false;
    const onData = (chunk: Buffer): void => {
      framer.push(chunk);
      if (!deriving) processMessages();
    };

    const processMessages = (): void => {
      try {
        for (let m = framer.next(); m; m = framer.next()) {
          switch (m.type) {
            case BE_AUTHENTICATION: {
              const req = parseAuthRequest(m.body);
              switch (req.kind) {
                case 'ok':
                  // A server that skips SASLFinal would not have proven it knows the password.
                  if (scram && !scram.completed) throw new PermanentConnectError('server ended SCRAM authentication without proving its identity');
                  break;
                case 'cleartext':
                  socket.write(msg.passwordMessage(target.password));
                  break;
                case 'md5':
                  socket.write(msg.passwordMessage(md5Response(target.password, target.user, req.salt!)));
                  break;
                case 'sasl': {
                  if (!req.mechanisms?.includes('SCRAM-SHA-256')) {
                    throw new PermanentConnectError(`server offers unsupported SASL mechanisms: ${req.mechanisms?.join(', ')}`);
                  }
                  // Over TLS, bind the exchange to the server's certificate when it offers
                  // SCRAM-SHA-256-PLUS (libpq's channel_binding=prefer): a relay with another
                  // certificate could then not pass our proof on.
                  const binding = socket !== raw && req.mechanisms.includes('SCRAM-SHA-256-PLUS') ? peerBinding(socket as TLSSocket) : undefined;
                  // The destination (its role's verifier) chooses the PBKDF2 cost: derivations take turns per destination.
                  const owner = `${target.user}@${target.host}:${target.port}`;
                  scram = new ScramClientSession(target.password, { channelBinding: binding, owner });
                  socket.write(msg.saslInitialResponse(scram.mechanism, scram.clientFirst()));
                  break;
                }
                case 'sasl-continue': {
                  if (!scram) throw new ServerConnectError('unexpected SASLContinue');
                  const session = scram;
                  deriving = true;
                  socket.pause();
                  session.serverFirst(req.data ?? '').then(
                    (response) => {
                      if (settled) return;
                      deriving = false;
                      socket.resume();
                      socket.write(msg.saslResponse(response));
                      processMessages();
                    },
                    (err: unknown) => fail(startupError(target, err)),
                  );
                  return;
                }
                case 'sasl-final':
                  if (!scram) throw new ServerConnectError('unexpected SASLFinal');
                  scram.serverFinal(req.data ?? '');
                  break;
              }
              break;
            }
            case BE_PARAMETER_STATUS: {
              const p = parseParameterStatus(m.body);
              params.set(p.name, p.value);
              break;
            }
            case BE_BACKEND_KEY_DATA: {
              const k = parseBackendKeyData(m.body);
              processId = k.processId;
              secretKey = k.secretKey;
              break;
            }
            case BE_ERROR_RESPONSE: {
              const f = parseErrorFields(m.body);
              throw new ServerConnectError(`server ${target.host}:${target.port} refused the connection: ${f.M ?? 'unknown error'}`, f.C);
            }
            case BE_READY_FOR_QUERY: {
              if (framer.takeRest().length > 0) throw new ServerConnectError('server sent data after ReadyForQuery during start-up');
              settled = true;
              clearTimeout(timer);
              for (const s of new Set([raw, socket])) {
                s.removeAllListeners('data');
                s.removeAllListeners('error');
                s.removeAllListeners('close');
                s.removeAllListeners('connect');
                s.removeAllListeners('secureConnect');
              }
              // Under TLS the TLS socket reports errors; the raw one keeps a no-op so a late
              // error on it can never be unhandled.
              if (raw !== socket) raw.on('error', ignoreError);
              resolve({ socket, params, processId, secretKey });
              return;
            }
            default:
              // NoticeResponse, NegotiateProtocolVersion: nothing to do during start-up.
              break;
          }
        }
      } catch (err) {
        fail(startupError(target, err));
      }
    };
  });
}

/** A start-up failure as the pool sees it: permanent when waiting cannot cure it. */
function startupError(target: ServerTarget, err: unknown): ServerConnectError {
  if (err instanceof ServerConnectError) return err;
  // The server's verifier asks for more SCRAM iterations than allowed: it will ask again.
  if (err instanceof ScramIterationsError) return new ScramIterationsConnectError(`cannot log in to ${target.host}:${target.port}: ${err.message}`, err);
  return new ServerConnectError(`start-up with ${target.host}:${target.port} failed: ${(err as Error).message}`, undefined, err);
}

/** tls-server-end-point data of the certificate the server presented, if it allows binding. */
function peerBinding(socket: TLSSocket): Buffer | undefined {
  const cert = socket.getPeerX509Certificate?.();
  return cert === undefined ? undefined : tlsServerEndPoint(cert.raw);
}
