// The slow path of a new client socket: the first packet (SSLRequest / GSSENCRequest / CancelRequest
// / StartupMessage), tenant lookup by (database, user), authentication against stored verifiers,
// then ParameterStatus, a pooler-issued BackendKeyData and ReadyForQuery (protocol docs, "Start-up").
//
// An unknown (database, user) pair runs a mock SCRAM exchange and fails exactly like a wrong
// password (28P01), as PostgreSQL does, so the pooler does not reveal which tenants exist (only
// the pooler's own disconnect count says tenant_unknown).
//
// Nothing of a client exists until it has authenticated: a tenant login then becomes a
// ClientConnection (LoginHost.admitClient, which may still refuse it), an admin login an admin
// session that never was a tenant client. A connection that ends before is counted by
// LoginHost.loginEnded under the reason its error carries (errors.ts).
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { verifyMd5Response } from '../auth/md5.ts';
import { tlsServerEndPoint } from '../auth/channel-binding.ts';
import { PLAIN_ONLY, ScramServerSession, WITH_PLUS } from '../auth/scram-server.ts';
import type { Pool } from '../backend/pool.ts';
import { loginKey, type Snapshot, type TenantRoute } from '../config/snapshot.ts';
import { PoolerError, type DisconnectReason } from '../errors.ts';
import type { Logger } from '../log.ts';
import { INPUT_HIGH_WATER } from '../net/backpressure.ts';
import { FE_PASSWORD } from '../net/codes.ts';
import { MessageFramer, ProtocolError } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { parsePasswordMessage, parseSaslInitialResponse, parseSaslResponse } from '../net/parse.ts';
import { StartupFramer } from '../net/startup.ts';
import { isAdminDatabase, type Credentials } from '../admin/users.ts';
import type { ClientConnection } from './client.ts';
import { sharedClientParams, startupValuesToCheck } from './session-params.ts';
import { checkStartupValues, startupFatal } from './startup-check.ts';
import { startupSettings, type StartupSettings } from './startup-options.ts';
import { internSettings } from './session-settings.ts';

function encodeParameters(params: ReadonlyMap<string, string>): Buffer {
  return Buffer.concat([...params].map(([name, value]) => msg.parameterStatus(name, value)));
}
import { SSL_ACCEPTED, upgradeClientSocket, type ClientTls } from './client-tls.ts';

const LOGIN_TIMEOUT_MS = 30_000;
/** Messages every login sends unchanged, encoded once (a socket write never modifies its buffer). */
const AUTH_SASL_SCRAM = msg.authenticationSasl([...PLAIN_ONLY]);
const AUTH_SASL_SCRAM_PLUS = msg.authenticationSasl([...WITH_PLUS]);
const AUTH_OK = msg.authenticationOk();
const READY_IDLE = msg.readyForQuery('I');
/** `replication` values that mean a normal connection (PostgreSQL's boolean spellings). */
const NOT_REPLICATION: ReadonlySet<string> = new Set(['', 'false', 'off', 'no', '0']);

export interface LoginHost {
  readonly log: Logger;
  readonly maxMessageSize: number;
  readonly draining: boolean;
  /** The listener's TLS mode and certificate (docs/tls.md); replaced on reload. */
  readonly clientTls: ClientTls;
  snapshot(): Snapshot;
  /** The tenant's pool; for its read endpoint (`read`), the pool its next transaction would use. */
  poolFor(route: TenantRoute, read?: boolean): Pool;
  /**
   * Registers an authenticated tenant login and builds its client connection (the tenant's client
   * slot, its cancel key); throws PoolerError to refuse it (TOO_MANY_CLIENTS).
   */
  admitClient(login: AuthenticatedLogin): ClientConnection;
  /** A connection that ended before it became a client or an admin session, and why (metrics). */
  loginEnded(reason: DisconnectReason): void;
  /** Resolves once the cancel has been delivered (the requester's socket stays open until then). */
  cancel(processId: number, secretKey: number): Promise<void>;
  /** Admin console (databases `switchyard` / `pgbouncer`, admin/users.ts): the admin user's verifiers, undefined if unknown. */
  adminCredentials?(user: string): Credentials | undefined;
  /** Takes over an authenticated admin console connection, right after AuthenticationOk (admin/session.ts). */
  startAdminSession?(socket: Socket, params: Record<string, string>, rest: Buffer): void;
}

/** What authentication established about a tenant login: the client connection is built from it. */
export interface AuthenticatedLogin {
  readonly socket: Socket;
  readonly route: TenantRoute;
  readonly params: Readonly<Record<string, string>>;
  /** Logged in to the tenant's read endpoint (`<database>_ro`, backend/reader-router.ts). */
  readonly read?: boolean;
}

/** The reason a refusal is counted under; an ERROR-only code (reason null) never ends a login, else: as before. */
function reasonOf(err: PoolerError): DisconnectReason {
  return err.reason ?? 'protocol_violation';
}

/** `encrypted`: `socket` is the TLS socket of a connection that already negotiated TLS (frontend/client-tls.ts). */
export function acceptClient(socket: Socket, host: LoginHost, encrypted = false): void {
  socket.setNoDelay(true);
  /** Built once the login has authenticated and been admitted (tenant logins only). */
  let client: ClientConnection | undefined;
  /** Set once the login ended without becoming a client: counted once. */
  let ended = false;
  const startup = new StartupFramer();
  let framer: MessageFramer | undefined;
  let onMessage: ((type: number, body: Buffer) => void) | undefined;
  let done = false;
  /** Authenticated, waiting for the pool's server parameters: buffer whatever the client sends. */
  let authenticated = false;
  /** Not read meanwhile: it sent more than INPUT_HIGH_WATER (the client connection resumes it). */
  let paused = false;

  /** Closes a connection that is not a client (yet): `fatal` first; counted once under `reason`. */
  const endLogin = (reason: DisconnectReason, fatal?: Buffer): void => {
    if (ended) return;
    ended = true;
    if (fatal !== undefined && socket.writable) socket.write(fatal);
    if (!socket.destroyed) socket.end();
    socket.destroySoon();
    host.loginEnded(reason);
  };
  const end = (err: PoolerError, reason: DisconnectReason = reasonOf(err)): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    if (client !== undefined) return client.fail(err, reason);
    host.log.info({ code: err.code, sqlstate: err.sqlstate, reason, address: socket.remoteAddress }, err.message);
    endLogin(reason, msg.errorResponse({ severity: 'FATAL', code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
  };
  /** Ends the login with an ErrorResponse the server wrote (a start-up value it refused). */
  const refuse = (fatal: Buffer): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    client!.failWith(fatal, 'invalid_parameter');
  };
  /** The pool an authenticated login waits on (its server parameters, the check of its start-up values). */
  let waitingOn: Pool | undefined;
  /** The timer found that pool in a planned switchover hold. */
  let held = false;
  const onTimeout = (): void => {
    // A switchover hold (bounded by switchover_until, backend/switchover.ts) makes the login wait
    // as it makes a queued transaction wait; once it ends, the login has the usual time again.
    if (waitingOn?.switching === true) {
      held = true;
      return arm(1000);
    }
    if (held) {
      held = false;
      return arm(LOGIN_TIMEOUT_MS);
    }
    end(new PoolerError('STARTUP_TIMEOUT', 'client did not complete start-up in time'));
  };
  const arm = (ms: number): void => {
    timer = setTimeout(onTimeout, ms);
    timer.unref();
  };
  let timer: NodeJS.Timeout;
  arm(LOGIN_TIMEOUT_MS);

  // One listener for 'error' (an Error), 'close' (a boolean) and 'end' (no argument). The listener
  // allows half-open sockets (for cancel requests): a client that ends its side during start-up
  // is done, unless it is waiting for its cancel to be delivered.
  let cancelling = false;
  const onGone = (arg?: unknown): void => {
    if (arg === undefined && cancelling) return;
    if (arg instanceof Error) {
      if (host.log.isLevelEnabled('debug')) (client?.log ?? host.log).debug({ err: arg.message }, 'client socket error');
      done = true;
    }
    clearTimeout(timer);
    if (client !== undefined) client.close('client_close');
    else endLogin('client_close');
  };
  socket.on('error', onGone);
  socket.on('close', onGone);
  socket.on('end', onGone);

  const onData = (chunk: Buffer): void => {
    try {
      if (framer === undefined) {
        startup.push(chunk);
        for (let p = startup.next(); p !== undefined && framer === undefined; p = startup.next()) {
          switch (p.kind) {
            case 'ssl': {
              // Bytes after the SSLRequest were sent before our answer: unencrypted, possibly
              // injected by a man-in-the-middle (CVE-2021-23214). PostgreSQL ends such connections.
              if (startup.buffered > 0) throw new ProtocolError('received unencrypted data after SSL request');
              if (encrypted) throw new ProtocolError('SSL request on a connection that already uses SSL');
              const tls = host.clientTls;
              if (tls.context === undefined) {
                // No TLS on this listener: 'N' tells the client to go on in the clear
                // (protocol docs, "SSL Session Encryption").
                socket.write(msg.encryptionRefused());
                break;
              }
              // 'S', then the TLS handshake on this TCP connection; the start-up begins afresh inside TLS.
              done = true;
              clearTimeout(timer);
              socket.removeListener('data', onData);
              socket.removeListener('error', onGone);
              socket.removeListener('close', onGone);
              socket.write(SSL_ACCEPTED);
              acceptClient(upgradeClientSocket(socket, tls.context), host, true);
              return;
            }
            case 'gssenc':
              // No GSSAPI encryption: 'N' (protocol docs, "GSSAPI Session Encryption").
              socket.write(msg.encryptionRefused());
              break;
            case 'cancel':
              done = true;
              clearTimeout(timer);
              socket.removeListener('data', onData);
              cancelling = true;
              void host.cancel(p.processId, p.secretKey).finally(() => socket.destroy());
              return;
            case 'startup':
              // Cancel requests stay allowed in plaintext: libpq before 17 always sends them so.
              if (!encrypted && host.clientTls.mode === 'require') throw new PoolerError('SSL_REQUIRED', 'SSL required');
              framer = new MessageFramer(Math.min(host.maxMessageSize, 64 * 1024));
              onMessage = beginAuth(p.params);
              framer.push(startup.takeRest());
              break;
          }
        }
        if (framer === undefined) return;
      } else {
        framer.push(chunk);
      }
      if (authenticated) {
        // That wait lasts up to connect_timeout (with retries): hold a bounded amount, as for a
        // client waiting in the checkout queue (net/backpressure.ts), then let TCP push back.
        if (!paused && framer.buffered > INPUT_HIGH_WATER) {
          paused = true;
          socket.pause();
        }
        return;
      }
      // Not `m = framer.next()` once done: a login that completed within onMessage handed the framer on.
      for (let m = framer.next(); m !== undefined; m = framer.next()) {
        onMessage!(m.type, m.body);
        if (done || authenticated) break;
      }
    } catch (err) {
      if (err instanceof PoolerError) return end(err);
      if (err instanceof ProtocolError) return end(new PoolerError('PROTOCOL_VIOLATION', err.message));
      (client?.log ?? host.log).error({ err }, 'unexpected error during client start-up');
      end(new PoolerError('PROTOCOL_VIOLATION', 'invalid start-up sequence'));
    }
  };
  socket.on('data', onData);

  function beginAuth(params: Record<string, string>): (type: number, body: Buffer) => void {
    const user = params.user ?? '';
    const database = params.database || user;
    if (host.draining) throw new PoolerError('SHUTTING_DOWN', 'the pooler is shutting down');
    // The admin console's database names are reserved: those logins match the admin users only,
    // never a tenant, so a tenant's password cannot open the console.
    const admin = isAdminDatabase(database) && host.startAdminSession !== undefined;
    // Replication connections (streaming, logical decoding) need a session of their own and a
    // different protocol after start-up: not something a pooler can share.
    const replication = (params.replication ?? '').toLowerCase();
    if (!NOT_REPLICATION.has(replication)) {
      throw new PoolerError('FEATURE_NOT_SUPPORTED', 'replication connections are not supported through the pooler', {
        hint: 'connect to the database server directly for replication',
      });
    }
    const snapshot = host.snapshot();
    const byLogin = admin ? undefined : snapshot.byLogin.get(loginKey(database, user));
    // Not a tenant's login: maybe a tenant's read endpoint (same user and password, `<database>_ro`).
    const readRoute = admin || byLogin !== undefined ? undefined : snapshot.byReadLogin?.get(loginKey(database, user));
    const route = byLogin ?? readRoute;
    const read = readRoute !== undefined;
    /** The verifiers this login must match: the tenant's or the admin user's; undefined = unknown login. */
    const creds: Credentials | undefined = admin ? host.adminCredentials?.(user) : route;
    // An unknown tenant login fails exactly as a wrong password; only its count tells them apart.
    const authFailed = (): PoolerError =>
      new PoolerError('AUTH_FAILED', `password authentication failed for user "${user}"`, admin || route !== undefined ? {} : { reason: 'tenant_unknown' });
    if (host.log.isLevelEnabled('debug')) host.log.debug({ database, user, tenant: route?.id }, 'client start-up');

    /** `saslFinal`: AuthenticationSASLFinal, sent in one write with AuthenticationOk (or alone before a refusal). */
    const finish = (saslFinal?: Buffer): void => {
      const authOk = saslFinal === undefined ? AUTH_OK : Buffer.concat([saslFinal, AUTH_OK]);
      if (admin && creds !== undefined) {
        done = true;
        clearTimeout(timer);
        // The session takes over the socket's events (admin/session.ts): nothing of the login stays.
        socket.removeListener('data', onData);
        socket.removeListener('error', onGone);
        socket.removeListener('close', onGone);
        socket.removeListener('end', onGone);
        socket.write(authOk);
        host.startAdminSession!(socket, params, framer!.takeRest());
        return;
      }
      try {
        if (!route) throw authFailed();
        if (route.status !== 'active') throw new PoolerError('TENANT_SUSPENDED', `tenant "${route.id}" is suspended`);
        client = host.admitClient(read ? { socket, route, params, read } : { socket, route, params });
      } catch (err) {
        // The exchange itself succeeded: the client gets its SASLFinal, then the FATAL.
        if (saslFinal !== undefined) socket.write(saslFinal);
        throw err;
      }
      authenticated = true;
      const admitted = client;
      const pool = host.poolFor(route, read);
      waitingOn = pool;
      const failed = (err: Error): void => {
        if (done) return admitted.log.error({ err }, 'unexpected error after login');
        end(
          err instanceof PoolerError ? err : new PoolerError('SERVER_LOST', `cannot connect to the database of tenant "${route.id}"`, { detail: err.message }),
          'connect_failed',
        );
      };
      /** Ends the login once the pool's server parameters are known; `authOk` when not written yet. */
      const complete = (serverParams: ReadonlyMap<string, string>, authOk: Buffer | undefined): void => {
        if (done) return;
        // Start-up values PostgreSQL would have to apply: a server of the pool judges them.
        // `options` and the other keys as PostgreSQL reads them (startup-options.ts).
        const settings = startupSettings(params);
        if ('error' in settings) {
          if (authOk !== undefined) socket.write(authOk);
          return refuse(startupFatal(settings.error));
        }
        const check = startupValuesToCheck(serverParams, settings.keys, settings.session);
        if (check.sets.length === 0) return ready(serverParams, settings, undefined, authOk);
        if (authOk !== undefined) socket.write(authOk);
        checkStartupValues(pool, serverParams, check)
          .then((verdict) => {
            if (done) return;
            if ('error' in verdict) return refuse(startupFatal(verdict.error));
            ready(serverParams, settings, verdict.values, undefined);
          })
          .catch(failed);
      };
      const ready = (serverParams: ReadonlyMap<string, string>, settings: Exclude<StartupSettings, { error: unknown }>, checked: ReadonlyMap<string, string> | undefined, authOk: Buffer | undefined): void => {
        const reported = sharedClientParams(serverParams, settings.keys, encodeParameters, checked);
        if (settings.session.length > 0) admitted.session = admitted.sessionDefaults = internSettings(pool, settings.session);
        admitted.params = reported.params;
        admitted.defaults = reported.params;
        const bkd = msg.backendKeyData(admitted.processId, admitted.secretKey);
        done = true;
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.write(authOk === undefined ? Buffer.concat([reported.encoded, bkd, READY_IDLE]) : Buffer.concat([authOk, reported.encoded, bkd, READY_IDLE]));
        // The host's logger with the client's fields, not admitted.log: that child logger (built on
        // first use) would cost every login at the default level and stay with the idle client.
        if (host.log.isLevelEnabled('info')) host.log.info({ client: admitted.id, tenant: route.id }, 'client logged in');
        // The login state is done with: the client takes over the socket's error/close events,
        // so nothing keeps this scope (framers, SCRAM state, timer) alive.
        socket.removeListener('error', onGone);
        socket.removeListener('close', onGone);
        socket.removeListener('end', onGone);
        // Before the client takes over: its own backpressure may pause the socket again.
        if (paused) socket.resume();
        admitted.enterReady(framer!.takeRest());
        framer = undefined;
        onMessage = undefined;
      };
      // The pool knows its servers' parameters (every login after its first server connection):
      // the login ends now, AuthenticationOk and the rest in one write, and no promise.
      const known = pool.serverParams;
      if (known !== undefined) {
        try {
          return complete(known, authOk);
        } catch (err) {
          return failed(err as Error);
        }
      }
      socket.write(authOk);
      pool
        .ensureServerParams(params.application_name)
        .then((serverParams) => complete(serverParams, undefined))
        .catch(failed);
    };

    // SCRAM when the tenant has a SCRAM verifier (or is unknown: mock exchange), unless it asks for
    // md5 (auth_method); md5 otherwise.
    if (creds === undefined || (creds.scram.length > 0 && creds.authMethod !== 'md5')) {
      // During a password rotation the new verifier reuses the old salt, so one exchange can accept both.
      const first = creds?.scram[0];
      const all = creds?.scram;
      const verifiers =
        first === undefined || all === undefined ? undefined : all.length === 1 ? all : all.filter((v) => v.iterations === first.iterations && v.salt.equals(first.salt));
      // Over TLS, SCRAM-SHA-256-PLUS too: channel binding to this connection's certificate.
      const channelBinding = encrypted ? certificateBinding(socket as TLSSocket) : undefined;
      const scram = new ScramServerSession(verifiers, channelBinding === undefined ? { user } : { user, channelBinding });
      let step = 0;
      socket.write(scram.mechanisms === WITH_PLUS ? AUTH_SASL_SCRAM_PLUS : AUTH_SASL_SCRAM);
      return (type, body) => {
        // The type as a number, as PostgreSQL says it (auth.c): a byte like NUL cannot go into an error text.
        if (type !== FE_PASSWORD) throw new ProtocolError(`expected SASL response, got message type ${type}`);
        if (step === 0) {
          const initial = parseSaslInitialResponse(body);
          if (!scram.mechanisms.includes(initial.mechanism)) {
            throw new PoolerError('AUTH_METHOD_UNSUPPORTED', `SASL mechanism "${initial.mechanism}" is not supported`);
          }
          step = 1;
          socket.write(msg.authenticationSaslContinue(scram.clientFirst(initial.data, initial.mechanism)));
        } else if (step === 1) {
          step = 2;
          const result = scram.clientFinal(parseSaslResponse(body));
          if (!result.ok || creds === undefined) throw authFailed();
          finish(msg.authenticationSaslFinal(result.serverFinal));
        } else {
          throw new ProtocolError('unexpected message after SASL exchange');
        }
      };
    }
    const salt = randomBytes(4);
    socket.write(msg.authenticationMd5(salt));
    return (type, body) => {
      if (type !== FE_PASSWORD) throw new ProtocolError(`expected password message, got message type ${type}`);
      const raw = parsePasswordMessage(body);
      // The password message is a NUL-terminated string.
      const response = raw.toString('utf8').replace(/\0$/, '');
      if (!creds.md5.some((h) => verifyMd5Response(h, salt, response))) throw authFailed();
      finish();
    };
  }
}

/**
 * The tls-server-end-point binding of the certificate this TLS connection presented (the one in
 * force at its handshake, even if a reload has replaced it since), or undefined when it allows none.
 */
function certificateBinding(socket: TLSSocket): Buffer | undefined {
  const cert = socket.getX509Certificate?.();
  return cert === undefined ? undefined : tlsServerEndPoint(cert.raw);
}
