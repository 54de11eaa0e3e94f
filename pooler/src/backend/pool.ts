// One pool of server connections per tenant. Checkout is synchronous when an idle connection
// exists (the common case under load); otherwise the client waits in a FIFO queue, bounded by
// checkout_timeout, while the pool opens connections up to `size`. Idle connections are reused
// LIFO so the warmest ones stay busy and the rest can age out under idle_timeout.
import type { Logger } from '../log.ts';
import type { DisconnectReason } from '../errors.ts';
import { PoolerError } from '../errors.ts';
import type { PoolSettings } from '../config/schema.ts';
import { connectServer, ServerConnectError, type ServerTarget } from './connect.ts';
import { ServerConnection, type ServerOwner } from './server.ts';

export interface PoolClient {
  /** Hands a server connection to the client; called synchronously from acquire() when one is idle. */
  attachServer(server: ServerConnection): void;
  /** Checkout failed (timeout, server unreachable): the client answers its pending requests. */
  checkoutFailed(err: PoolerError): void;
}

interface Waiter {
  client: PoolClient;
  deadline: number;
}

export interface PoolStats {
  tenantId: string;
  mode: PoolSettings['mode'];
  size: number;
  serversActive: number;
  serversIdle: number;
  serversConnecting: number;
  clientsWaiting: number;
  maxWaitMs: number;
  totalCheckouts: number;
  totalCheckoutTimeouts: number;
  totalServerConnects: number;
  totalServerConnectErrors: number;
}

export class Pool implements ServerOwner {
  readonly tenantId: string;
  settings: PoolSettings;
  target: ServerTarget;
  /** ParameterStatus values reported by this tenant's servers (for client start-up). */
  serverParams: Map<string, string> | undefined;
  private readonly idle: ServerConnection[] = [];
  private readonly all = new Set<ServerConnection>();
  private connecting = 0;
  private readonly waiters: Waiter[] = [];
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private paramWaiters: Array<(err?: Error) => void> = [];
  totalCheckouts = 0;
  totalCheckoutTimeouts = 0;
  totalServerConnects = 0;
  totalServerConnectErrors = 0;
  lastConnectError: string | undefined;
  private lastConnectErrorAt = 0;

  constructor(tenantId: string, target: ServerTarget, settings: PoolSettings, log: Logger) {
    this.tenantId = tenantId;
    this.target = target;
    this.settings = settings;
    this.log = log.child({ tenant: tenantId });
    this.timer = setInterval(() => this.maintain(), 1000);
    this.timer.unref();
  }

  /**
   * Gives `client` a server connection now (synchronously, when one is idle) or later. The client
   * is told through attachServer / checkoutFailed exactly once.
   */
  acquire(client: PoolClient): void {
    if (this.closed) {
      client.checkoutFailed(new PoolerError('TENANT_REMOVED', `tenant "${this.tenantId}" is no longer served by this pooler`));
      return;
    }
    const server = this.idle.pop();
    if (server !== undefined) {
      this.totalCheckouts++;
      client.attachServer(server);
      return;
    }
    this.waiters.push({ client, deadline: Date.now() + this.settings.checkout_timeout * 1000 });
    this.grow();
  }

  /** Removes a waiting client (it disconnected before getting a server). */
  cancelWait(client: PoolClient): void {
    const i = this.waiters.findIndex((w) => w.client === client);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Returns a clean server connection (ReadyForQuery 'I', nothing outstanding). */
  release(server: ServerConnection): void {
    server.link = null;
    if (server.closed) return;
    if (this.closed || server.retired || Date.now() - server.createdAt > this.settings.max_lifetime * 1000) {
      server.close(server.retired || this.closed ? 'target_changed' : 'lifetime');
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.totalCheckouts++;
      waiter.client.attachServer(server);
      return;
    }
    server.idleSince = Date.now();
    this.idle.push(server);
  }

  onServerGone(server: ServerConnection, reason: DisconnectReason): void {
    this.all.delete(server);
    const i = this.idle.indexOf(server);
    if (i >= 0) this.idle.splice(i, 1);
    this.log.debug({ server: server.id, reason }, 'server connection closed');
    if (this.waiters.length > 0) this.grow();
  }

  /** Resolves once this pool knows its servers' ParameterStatus values (opens a connection if needed). */
  async ensureServerParams(): Promise<Map<string, string>> {
    if (this.serverParams) return this.serverParams;
    await new Promise<void>((resolve, reject) => {
      this.paramWaiters.push((err) => (err ? reject(err) : resolve()));
      if (this.connecting === 0) this.openServer();
    });
    return this.serverParams ?? new Map();
  }

  private grow(): void {
    // Open connections for waiters, never beyond `size` (counting those already opening).
    while (this.all.size + this.connecting < this.settings.size && this.connecting < this.waiters.length) {
      this.openServer();
    }
  }

  private openServer(): void {
    this.connecting++;
    this.totalServerConnects++;
    const target = this.target;
    connectServer(target, this.settings.connect_timeout * 1000).then(
      (hs) => {
        this.connecting--;
        const server = new ServerConnection(this, hs.socket, { ...hs, host: target.host, port: target.port });
        this.all.add(server);
        this.serverParams ??= hs.params;
        this.lastConnectError = undefined;
        this.flushParamWaiters();
        if (this.closed || target !== this.target) {
          server.retired = true;
        }
        this.log.debug({ server: server.id, host: target.host, port: target.port }, 'server connection opened');
        this.release(server);
      },
      (err: ServerConnectError) => {
        this.connecting--;
        this.totalServerConnectErrors++;
        this.lastConnectError = err.message;
        this.lastConnectErrorAt = Date.now();
        this.log.warn({ err: err.message, sqlstate: err.serverSqlstate }, 'server connection failed');
        this.flushParamWaiters(err);
        // Fail the waiters that cannot be served by connections still opening.
        const failing = this.waiters.length - this.connecting;
        const e = new PoolerError('SERVER_CONNECT_FAILED', `cannot connect to the database of tenant "${this.tenantId}"`, {
          detail: err.serverSqlstate ? `the server answered SQLSTATE ${err.serverSqlstate}` : undefined,
        });
        for (let k = 0; k < failing && this.all.size === 0; k++) {
          this.waiters.shift()?.client.checkoutFailed(e);
        }
      },
    );
  }

  private flushParamWaiters(err?: Error): void {
    const ws = this.paramWaiters;
    if (ws.length === 0) return;
    this.paramWaiters = [];
    for (const w of ws) w(err);
  }

  /** Once a second: checkout timeouts, idle and lifetime expiry, min_idle. */
  private maintain(): void {
    const now = Date.now();
    // Deadlines are FIFO-ordered only while checkout_timeout is unchanged (a reload may change it): scan all.
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.deadline > now) continue;
      this.waiters.splice(i--, 1);
      this.totalCheckoutTimeouts++;
      w.client.checkoutFailed(
        new PoolerError('CHECKOUT_TIMEOUT', `no server connection available for tenant "${this.tenantId}" within ${this.settings.checkout_timeout} s`, {
          detail: `all ${this.settings.size} server connections of the pool are busy`,
          hint: 'raise the pool size or shorten transactions',
        }),
      );
    }
    const idleLimit = this.settings.idle_timeout * 1000;
    const lifeLimit = this.settings.max_lifetime * 1000;
    for (let i = 0; i < this.idle.length; i++) {
      const s = this.idle[i]!;
      const tooOld = now - s.createdAt > lifeLimit;
      const tooIdle = now - s.idleSince > idleLimit && this.all.size > this.settings.min_idle;
      if (tooOld || tooIdle) {
        this.idle.splice(i--, 1);
        s.close(tooOld ? 'lifetime' : 'idle_timeout');
      }
    }
    if (!this.closed) {
      // After a failed connect, wait 5 s before trying to refill min_idle again.
      const mayRetry = now - this.lastConnectErrorAt > 5000;
      while (mayRetry && this.all.size + this.connecting < this.settings.min_idle) this.openServer();
    }
  }

  /** Closes idle connections and marks busy ones to close when released (RECONNECT, target change). */
  retireAll(): void {
    for (const s of this.all) s.retired = true;
    for (const s of this.idle.splice(0)) s.close('target_changed');
  }

  retarget(target: ServerTarget, settings: PoolSettings): void {
    const changed = JSON.stringify(target) !== JSON.stringify(this.target);
    this.settings = settings;
    if (changed) {
      this.target = target;
      this.serverParams = undefined;
      this.retireAll();
      this.grow();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) {
      w.client.checkoutFailed(new PoolerError('TENANT_REMOVED', `tenant "${this.tenantId}" is no longer served by this pooler`));
    }
    this.retireAll();
  }

  /** Server connections currently open (for drain/shutdown). */
  get serverCount(): number {
    return this.all.size;
  }

  closeAllServers(reason: DisconnectReason): void {
    for (const s of [...this.all]) s.close(reason);
  }

  onServerSqlstate(_code: string): void {}

  stats(): PoolStats {
    const now = Date.now();
    return {
      tenantId: this.tenantId,
      mode: this.settings.mode,
      size: this.settings.size,
      serversActive: this.all.size - this.idle.length,
      serversIdle: this.idle.length,
      serversConnecting: this.connecting,
      clientsWaiting: this.waiters.length,
      maxWaitMs: this.waiters.length > 0 ? now - (this.waiters[0]!.deadline - this.settings.checkout_timeout * 1000) : 0,
      totalCheckouts: this.totalCheckouts,
      totalCheckoutTimeouts: this.totalCheckoutTimeouts,
      totalServerConnects: this.totalServerConnects,
      totalServerConnectErrors: this.totalServerConnectErrors,
    };
  }
}
