// One pool of server connections per tenant. Checkout is synchronous when an idle connection
// exists (the common case under load); otherwise the client waits in a FIFO queue, bounded by
// checkout_timeout, while the pool opens connections up to `size`. Idle connections are reused
// LIFO so the warmest ones stay busy and the rest can age out under idle_timeout.
//
// Failover (docs/architecture.md, "Reload semantics"): a connect that fails for a reason that may pass
// (refused, timed out, the server shutting down or starting up, a standby instead of the writer)
// does not fail the waiters: the pool retries with backoff until each waiter's checkout_timeout,
// and asks its owner for fresh targets (at most once per SUSPECT_INTERVAL_MS). When a reload
// brings a new target, retarget() connects there at once and the waiters get those connections.
// Errors that will not pass by waiting (wrong password, unknown database) still fail them at once.
import type { Logger } from '../log.ts';
import type { DisconnectReason } from '../errors.ts';
import { PoolerError } from '../errors.ts';
import type { PoolSettings } from '../config/schema.ts';
import { connectServer, PermanentConnectError, ScramIterationsConnectError, ServerConnectError, type ServerTarget } from './connect.ts';
import { ServerConnection, type ServerOwner } from './server.ts';
import { holdDeadline, logHoldEnd, SwitchHold, type SwitchoverObserver, type SwitchoverOutcome } from './switchover.ts';
import type { ClusterGate } from './cluster-gate.ts';
import { checkWriter, NotWriterError } from './writer-check.ts';
import { resetServer } from './reset.ts';

/** A parked connection's reset before anyone else gets it: DISCARD ALL (it is dirty) and its owner's settings back. */
const RECLAIM = { rollback: false, discardAll: false } as const;

/** Why a pool doubts its target: see PoolHooks.suspectTarget. */
export type TargetSuspicion = 'not_writer' | 'connect_failed' | 'read_only';

export interface PoolHooks {
  /**
   * The target looks wrong (a standby, unreachable, or a server answered 25006 read-only): the
   * owner should ask its config source for fresh targets. Called at most once per
   * SUSPECT_INTERVAL_MS per pool; must not throw.
   */
  suspectTarget(pool: Pool, reason: TargetSuspicion): void;
}

/** An application_name PostgreSQL stores unchanged: printable ASCII, at most NAMEDATALEN - 1 (63) bytes. */
const KEPT_AS_IS = /^[\x20-\x7e]{0,63}$/;

/** At most one target refresh request per pool in this many ms. */
export const SUSPECT_INTERVAL_MS = 2000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;
/** SQLSTATE classes of start-up errors that may pass by waiting: 08 connection exception, 53 insufficient resources, 57 operator intervention (57P01-57P03: shutting down, starting up). */
const TRANSIENT_CLASSES = new Set(['08', '53', '57']);
/** read_only_sql_transaction: a write reached a server that is (now) a standby. */
const READ_ONLY_SQLSTATE = '25006';

/** Might the same target accept a connection a little later? (Network errors: yes.) */
function isTransient(err: ServerConnectError): boolean {
  if (err instanceof NotWriterError) return true;
  if (err instanceof PermanentConnectError) return false;
  const s = err.serverSqlstate;
  return s === undefined || TRANSIENT_CLASSES.has(s.slice(0, 2));
}

interface ParamWaiter {
  done: (err?: Error) => void;
  deadline: number;
}

export interface PoolClient {
  /** Hands a server connection to the client; called synchronously from acquire() when one is idle. */
  attachServer(server: ServerConnection): void;
  /** Checkout failed (timeout, server unreachable): the client answers its pending requests. */
  checkoutFailed(err: PoolerError): void;
  /** The ParameterStatus values the client was told: its application_name names the connections opened for it (openServer). */
  readonly params?: ReadonlyMap<string, string>;
  /** Its queued bytes may follow a reset that has not answered yet (backend/reset-ahead.ts). */
  ridesReset?(): boolean;
}

interface Waiter {
  client: PoolClient;
  deadline: number;
  /** performance.now() at enqueue: the checkout wait histogram and SHOW CLIENTS' wait. */
  since: number;
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
  /** This pooler's share of the fleet budgets (cluster/budget-lease.ts); absent without them. */
  leaseSize?: number;
  totalCheckouts: number;
  totalCheckoutTimeouts: number;
  totalServerConnects: number;
  totalServerConnectErrors: number;
  /** A planned switchover holds new transactions (backend/switchover.ts). */
  switching: boolean;
}

export class Pool implements ServerOwner {
  readonly tenantId: string;
  settings: PoolSettings;
  target: ServerTarget;
  /** ParameterStatus values reported by this tenant's servers (for client start-up). */
  serverParams: Map<string, string> | undefined;
  private readonly idle: ServerConnection[] = [];
  /**
   * Lazy reset (park): dirty connections kept unreset for the transaction-mode client that last
   * used them, while nobody else wanted one; oldest first. They count as in the pool (idle, to be
   * reset before anyone else uses them: reclaimOne, unpark) and are closed unreset wherever an
   * idle one would be closed.
   */
  private readonly parked = new Map<PoolClient, ServerConnection>();
  private readonly all = new Set<ServerConnection>();
  private connecting = 0;
  /** Of those, the ones to the current target (a connect to a target we left will be closed). */
  private connectingNow = 0;
  private readonly waiters: Waiter[] = [];
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private paramWaiters: ParamWaiter[] = [];
  private readonly hooks: PoolHooks | undefined;
  private lastSuspectAt = -Infinity;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  totalCheckouts = 0;
  totalCheckoutTimeouts = 0;
  totalServerConnects = 0;
  totalServerConnectErrors = 0;
  lastConnectError: string | undefined;
  private lastConnectErrorAt = 0;
  /** Sum of the waits of queued clients that got a server connection, microseconds (SHOW STATS). */
  totalWaitUs = 0;
  /** Told each queued client's wait when it gets a server connection (the metrics histogram). */
  waitObserver: ((tenantId: string, seconds: number) => void) | null = null;
  /** Admin PAUSE/KILL: no server connection is handed out or kept until resume(). */
  private pausedFlag = false;
  private pauseWaiters: Array<() => void> = [];
  /** A planned switchover in progress (backend/switchover.ts): checkouts queue as in a PAUSE. */
  private switchHold: SwitchHold | undefined;
  /** Told when a switchover hold ends (metrics). */
  switchObserver: SwitchoverObserver | null = null;
  /** Told when a hold (PAUSE or planned switchover) begins or ends: the tenant's listener follows it (backend/listener.ts). */
  holdObserver: ((holding: boolean) => void) | null = null;
  /** This pooler's lease share of the fleet budgets (cluster/budget-lease.ts); Infinity without them. */
  private leaseSize = Infinity;
  /** Set by FleetLimits: a client queued while a fleet budget share was used up (this tenant's, the cluster's). */
  onLeaseStarved: ((tenant: boolean, cluster: boolean) => void) | undefined;
  /** Connections closed (for any reason) whose socket has not closed yet: still counted against the lease. */
  private closing = 0;
  /** This pooler's share of the tenant's cluster budget, shared with the cluster's other pools (cluster-gate.ts). */
  gate: ClusterGate | undefined;

  constructor(tenantId: string, target: ServerTarget, settings: PoolSettings, log: Logger, hooks?: PoolHooks) {
    this.tenantId = tenantId;
    this.target = target;
    this.settings = settings;
    this.hooks = hooks;
    this.log = log.child({ tenant: tenantId });
    this.timer = setInterval(() => this.maintain(), 1000);
    this.timer.unref();
    this.applySwitchover(settings.switchover_until);
  }

  /** No server connection is handed out or opened: admin PAUSE or a planned switchover. */
  get holding(): boolean {
    return this.pausedFlag || this.switchHold !== undefined;
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
    if (this.parked.size > 0) {
      // Its own session, as it left it: no reset, no SET (park).
      const own = this.parked.get(client);
      if (own !== undefined) {
        this.parked.delete(client);
        own.parkedFor = null;
        this.totalCheckouts++;
        client.attachServer(own);
        return;
      }
    }
    const server = this.idle.pop();
    if (server !== undefined) {
      this.totalCheckouts++;
      client.attachServer(server);
      return;
    }
    this.waiters.push({ client, deadline: Date.now() + this.settings.checkout_timeout * 1000, since: performance.now() });
    // Queued because this pooler's share of a fleet budget is used up: the budget lease may borrow
    // idle poolers' shares (docs/fleet.md, "Idle shares are lent").
    this.starvedCheck();
    // Paused or switching: the idle list is empty (pause() closed it, and every parked one) and
    // nothing opens; the client queues. Else a parked connection is reset for it (one round trip),
    // while the pool also grows if it may: whichever is ready first serves it.
    if (!this.holding) {
      this.reclaimOne();
      this.grow();
    }
  }

  /**
   * Lazy reset: keeps `server`, dirty from `client`'s transaction, unreset for that client's next
   * transaction, when nobody waits for a connection and it would have gone back to the idle list.
   * The caller checked that no capture of the client's settings is due (its settings are known)
   * and that nothing pins. False: the caller resets it as usual.
   */
  park(server: ServerConnection, client: PoolClient): boolean {
    if (this.waiters.length > 0 || this.closed || this.holding || server.retired || server.closed || server.cancelsInFlight > 0) return false;
    if (this.settings.lazy_reset !== true || this.parked.has(client)) return false;
    if (Date.now() - server.createdAt > this.settings.max_lifetime * 1000) return false;
    // Where release() would close it for the share (the same test).
    if (this.all.size + this.connecting > this.leaseSize || this.gate?.shouldYield(this, false)) return false;
    server.link = null;
    server.parkedFor = client;
    server.idleSince = Date.now();
    this.parked.set(client, server);
    return true;
  }

  /** `client` leaves: its parked connection, if any, is reset before anyone may use it. */
  unpark(client: PoolClient): void {
    const server = this.parked.get(client);
    if (server === undefined) return;
    this.parked.delete(client);
    server.parkedFor = null;
    resetServer(server, this, RECLAIM);
  }

  /** Someone else needs a connection: the longest-parked one is reset and released (to the queue). */
  private reclaimOne(): void {
    for (const client of this.parked.keys()) return this.unpark(client);
  }

  /** The longest-parked connection, taken out of the parked set unreset (to be closed). */
  private takeParked(): ServerConnection | undefined {
    for (const [client, server] of this.parked) {
      this.parked.delete(client);
      server.parkedFor = null;
      return server;
    }
    return undefined;
  }

  /**
   * Queued (for a connection, or a login for the server's parameters) while this pooler's share of a
   * fleet budget is used up: the budget lease may borrow idle poolers' shares (docs/fleet.md,
   * "Idle shares are lent").
   */
  private starvedCheck(): void {
    if (this.onLeaseStarved === undefined) return;
    const tenant = this.leaseUsage >= this.leaseSize;
    const cluster = this.gate !== undefined && this.gate.usage() >= this.gate.limit;
    if (tenant || cluster) this.onLeaseStarved(tenant, cluster);
  }

  /** What this pool asks of its fleet budget shares: busy connections, queued clients and logins waiting for the server's parameters. */
  get leaseDemand(): number {
    return this.load + this.paramWaiters.length;
  }

  /** Busy server connections plus queued clients: what a read endpoint balances on (reader-router.ts). */
  get load(): number {
    return this.all.size - this.idle.length - this.parked.size + this.waiters.length;
  }

  /** Removes and returns the queued clients `pred` picks (a read endpoint moving them off a reader that stopped qualifying). */
  takeWaiters(pred: (client: PoolClient) => boolean): PoolClient[] {
    const out: PoolClient[] = [];
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (!pred(w.client)) continue;
      this.waiters.splice(i--, 1);
      out.push(w.client);
    }
    return out;
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
    // Never a dirty one into the idle list (a parked connection handed back by a path that did not
    // use it): it is reset first.
    if (server.dirty) return resetServer(server, this, RECLAIM);
    if (this.closed || server.retired || this.holding || Date.now() - server.createdAt > this.settings.max_lifetime * 1000) {
      server.close(server.retired || this.closed || this.holding ? 'target_changed' : 'lifetime');
      return;
    }
    // Above the share by the connections still open (those already closing for it make up the rest
    // of the excess: counting them again closed every connection released before their sockets closed).
    if (this.all.size + this.connecting > this.leaseSize || this.gate?.shouldYield(this, this.waiters.length > 0)) return this.closeForLease(server);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.totalCheckouts++;
      const waitedMs = performance.now() - waiter.since;
      this.totalWaitUs += waitedMs * 1000;
      this.waitObserver?.(this.tenantId, waitedMs / 1000);
      waiter.client.attachServer(server);
      return;
    }
    server.idleSince = Date.now();
    this.idle.push(server);
    // A reset sent ahead for a client that then did not take it: its replies come now (reset-ahead.ts).
    server.flushReset();
  }

  /** reset.ts: the next release goes to a waiting client whose queued bytes may ride behind a reset (reset-ahead.ts). */
  handsToRider(): boolean {
    const w = this.waiters[0];
    return w !== undefined && w.client.ridesReset?.() === true;
  }

  onServerGone(server: ServerConnection, reason: DisconnectReason): void {
    this.all.delete(server);
    // Its backend holds a slot until the server closed its end (server.ts close): whatever closed
    // it (lowered share, RECONNECT, lifetime, idle_timeout, a failed reset), it counts until then.
    if (!server.socket.closed) {
      this.closing++;
      server.socket.once('close', () => {
        this.closing--;
        this.gate?.wake();
        // Room under our own share again: whoever queued (or a share raised meanwhile) may open now.
        this.kick();
      });
    }
    if (server.parkedFor !== null) {
      this.parked.delete(server.parkedFor as PoolClient);
      server.parkedFor = null;
    }
    const i = this.idle.indexOf(server);
    if (i >= 0) this.idle.splice(i, 1);
    this.log.debug({ server: server.id, reason }, 'server connection closed');
    this.gate?.wake();
    if (this.pausedFlag) return this.checkPaused();
    if (this.waiters.length > 0 && this.switchHold === undefined) this.grow();
  }

  /**
   * Resolves once this pool knows its servers' ParameterStatus values (opens a connection if needed,
   * under `applicationName`: the logging-in client's, see openServer).
   */
  async ensureServerParams(applicationName?: string): Promise<Map<string, string>> {
    if (this.serverParams) return this.serverParams;
    await new Promise<void>((resolve, reject) => {
      this.paramWaiters.push({ done: (err) => (err ? reject(err) : resolve()), deadline: Date.now() + this.settings.checkout_timeout * 1000 });
      this.starvedCheck();
      // A switchover hold opens nothing to the old writer: the login waits for the switch (endSwitchover).
      if (this.connectingNow === 0 && this.retryTimer === undefined && this.switchHold === undefined && this.mayOpen()) this.openServer(applicationName);
    });
    return this.serverParams ?? new Map();
  }

  private grow(): void {
    // While backing off after failed connects, the retry timer grows the pool.
    if (this.retryTimer !== undefined) return;
    // Open connections for waiters, never beyond `size` (counting those already opening).
    while (this.all.size + this.connectingNow < this.settings.size && this.connectingNow < this.waiters.length && this.mayOpen()) {
      this.openServer();
    }
  }

  private openServer(wanted = this.waiters[this.connectingNow]?.client.params?.get('application_name')): void {
    // Opened under the application_name of the client it is for (by default the first waiter not
    // yet covered by a connect), so that DISCARD ALL returns the session to that name: where a tenant's clients
    // share one (most applications), the reset after each transaction is one statement, without a
    // SET application_name after it (backend/reset.ts), and the checkout needs no SET either. Not a
    // disclosure: any session sees every backend's application_name in pg_stat_activity.
    // Only a name PostgreSQL keeps as it is (printable ASCII, under NAMEDATALEN): another would
    // differ from the client's anyway, and a long one could push the start-up packet past the
    // server's limit (10,000 bytes), which it drops without an answer.
    const name = wanted !== undefined && KEPT_AS_IS.test(wanted) ? wanted : undefined;
    this.connecting++;
    this.connectingNow++;
    this.totalServerConnects++;
    const target = name === undefined || name === this.target.applicationName ? this.target : { ...this.target, applicationName: name };
    const current = this.target;
    const timeoutMs = this.settings.connect_timeout * 1000;
    const mustBeWriter = this.settings.check_writer === true;
    connectServer(target, timeoutMs)
      .then(async (hs) => {
        if (mustBeWriter) await checkWriter(hs, target, timeoutMs);
        return hs;
      })
      .then(
        (hs) => {
          this.connecting--;
          if (current === this.target) this.connectingNow--;
          const server = new ServerConnection(this, hs.socket, { ...hs, host: target.host, port: target.port });
          this.all.add(server);
          this.retryDelayMs = RETRY_MIN_MS;
          if (current === this.target) {
            // A copy: the connection's own map changes with every SET run on it. (Its
            // application_name is no client's: one that names none has '', session-params.ts.)
            this.serverParams ??= new Map(hs.params);
            this.lastConnectError = undefined;
            this.flushParamWaiters();
          }
          if (this.closed || current !== this.target) {
            server.retired = true;
          }
          this.log.debug({ server: server.id, host: target.host, port: target.port }, 'server connection opened');
          this.release(server);
        },
        (err: ServerConnectError) => this.onConnectFailed(current, err),
      );
  }

  private onConnectFailed(target: ServerTarget, err: ServerConnectError): void {
    this.connecting--;
    this.gate?.wake();
    if (target === this.target) this.connectingNow--;
    this.totalServerConnectErrors++;
    // A connect to a target we have since left is no reason to fail anyone: retarget() already
    // opened connections to the new one.
    const stale = target !== this.target;
    this.lastConnectError = err.message;
    this.lastConnectErrorAt = Date.now();
    const notWriter = err instanceof NotWriterError;
    this.log.warn({ err: err.message, sqlstate: err.serverSqlstate, host: target.host, port: target.port, stale }, notWriter ? 'server is not the writer' : 'server connection failed');
    if (this.closed) return this.flushParamWaiters(err);
    if (stale || isTransient(err)) {
      if (!stale) this.suspect(notWriter ? 'not_writer' : 'connect_failed');
      // Waiters keep waiting (maintain() bounds them by checkout_timeout); try again shortly.
      this.scheduleRetry();
      return;
    }
    // Fail the waiters that cannot be served by connections still opening.
    const failing = this.waiters.length - this.connectingNow;
    const e =
      err instanceof ScramIterationsConnectError
        ? new PoolerError('SERVER_SCRAM_ITERATIONS', `cannot log in to the database of tenant "${this.tenantId}": ${(err.cause as Error).message}`)
        : new PoolerError('SERVER_CONNECT_FAILED', `cannot connect to the database of tenant "${this.tenantId}"`, {
            detail: err.serverSqlstate ? `the server answered SQLSTATE ${err.serverSqlstate}` : undefined,
          });
    this.flushParamWaiters(e.code === 'SERVER_SCRAM_ITERATIONS' ? e : err);
    for (let k = 0; k < failing && this.all.size === 0; k++) {
      this.waiters.shift()?.client.checkoutFailed(e);
    }
  }

  /** Retries connecting for whoever still waits, with exponential backoff (RETRY_MIN_MS..RETRY_MAX_MS). */
  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    if (this.waiters.length === 0 && this.paramWaiters.length === 0) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryNow();
    }, delay);
    this.retryTimer.unref();
  }

  private retryNow(): void {
    if (this.closed) return;
    if (!this.holding) this.grow();
    if (this.paramWaiters.length > 0 && this.connectingNow === 0 && this.switchHold === undefined && this.mayOpen()) this.openServer();
  }

  /** Asks the owner for fresh targets, at most once per SUSPECT_INTERVAL_MS. */
  private suspect(reason: TargetSuspicion): void {
    const now = Date.now();
    if (this.hooks === undefined || now - this.lastSuspectAt < SUSPECT_INTERVAL_MS) return;
    this.lastSuspectAt = now;
    this.log.info({ reason, host: this.target.host, port: this.target.port }, 'asking for fresh targets');
    try {
      this.hooks.suspectTarget(this, reason);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'target refresh request failed');
    }
  }

  /**
   * Called from the hot path with the SQLSTATE of each ErrorResponse a server sends. 25006
   * (read_only_sql_transaction) on a pool that writes means the writer may have been demoted.
   */
  onServerSqlstate(code: string): void {
    if (code === READ_ONLY_SQLSTATE) this.suspect('read_only');
  }

  private flushParamWaiters(err?: Error): void {
    const ws = this.paramWaiters;
    if (ws.length === 0) return;
    this.paramWaiters = [];
    for (const w of ws) w.done(err);
  }

  /** Once a second: checkout timeouts, idle and lifetime expiry, min_idle. */
  private maintain(): void {
    const now = Date.now();
    // Deadlines are FIFO-ordered only while checkout_timeout is unchanged (a reload may change it): scan all.
    // A switchover holds its queue under its own bound (switchover_until), not checkout_timeout.
    for (let i = 0; i < this.waiters.length && this.switchHold === undefined; i++) {
      const w = this.waiters[i]!;
      if (w.deadline > now) continue;
      this.waiters.splice(i--, 1);
      this.totalCheckoutTimeouts++;
      w.client.checkoutFailed(
        this.lastConnectError !== undefined && this.all.size === 0
          ? new PoolerError('SERVER_CONNECT_FAILED', `cannot connect to the database of tenant "${this.tenantId}" within ${this.settings.checkout_timeout} s`, {
              detail: this.lastConnectError,
            })
          : new PoolerError('CHECKOUT_TIMEOUT', `no server connection available for tenant "${this.tenantId}" within ${this.settings.checkout_timeout} s`, this.busyDetail()),
      );
    }
    if (this.switchHold === undefined && this.paramWaiters.some((w) => w.deadline <= now)) {
      const expired = this.paramWaiters.filter((w) => w.deadline <= now);
      this.paramWaiters = this.paramWaiters.filter((w) => w.deadline > now);
      const err = new Error(this.lastConnectError ?? `no server connection within ${this.settings.checkout_timeout} s`);
      for (const w of expired) w.done(err);
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
    // Parked ones age likewise; closing loses nothing of their owner's that a reset would keep.
    for (const s of this.parked.values()) {
      const tooOld = now - s.createdAt > lifeLimit;
      if (tooOld || (now - s.idleSince > idleLimit && this.all.size > this.settings.min_idle)) s.close(tooOld ? 'lifetime' : 'idle_timeout');
    }
    if (this.pausedFlag) this.checkPaused();
    else if (!this.closed && this.switchHold === undefined) {
      // After a failed connect, wait 5 s before trying to refill min_idle again.
      const mayRetry = now - this.lastConnectErrorAt > 5000;
      while (mayRetry && this.all.size + this.connecting < this.settings.min_idle && this.mayOpen(false)) this.openServer();
    }
  }

  /** Closes idle connections and marks busy ones to close when released (RECONNECT, target change). */
  retireAll(): void {
    for (const s of this.all) s.retired = true;
    for (const s of this.idle.splice(0)) s.close('target_changed');
    for (let s = this.takeParked(); s !== undefined; s = this.takeParked()) s.close('target_changed');
  }

  retarget(target: ServerTarget, settings: PoolSettings): void {
    const changed = JSON.stringify(target) !== JSON.stringify(this.target);
    this.settings = settings;
    // A hold that starts with this reload retires the connections to the old target first.
    if (this.switchHold === undefined) this.applySwitchover(settings.switchover_until);
    if (changed) {
      this.target = target;
      this.connectingNow = 0;
      this.serverParams = undefined;
      this.retireAll();
      // Whoever waits gets a connection to the new target now, not after the backoff.
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.retryDelayMs = RETRY_MIN_MS;
      this.lastConnectError = undefined;
      this.retryNow();
    }
    // A hold that ends with this reload lets the queue go to the target just set.
    this.applySwitchover(settings.switchover_until);
  }

  // ---- planned switchover (backend/switchover.ts) -------------------------------------------

  /** Starts, moves or ends the hold as the pool setting `switchover_until` says. */
  private applySwitchover(until: string | undefined): void {
    if (this.closed) return;
    const deadline = holdDeadline(until);
    if (deadline === undefined) return this.endSwitchover('confirmed');
    if (this.switchHold !== undefined) return this.switchHold.setDeadline(deadline);
    this.switchHold = new SwitchHold(deadline, () => this.endSwitchover('timeout'));
    this.retireAll();
    this.holdObserver?.(true);
    this.log.info({ until, host: this.target.host, port: this.target.port }, 'planned switchover: new transactions wait, open ones finish');
  }

  private endSwitchover(outcome: SwitchoverOutcome): void {
    const hold = this.switchHold;
    if (hold === undefined) return;
    this.switchHold = undefined;
    hold.stop();
    const seconds = hold.elapsedSeconds();
    // Queued clients get their full checkout_timeout from now (they waited for the switch, not for a server).
    const deadline = Date.now() + this.settings.checkout_timeout * 1000;
    for (const w of this.waiters) w.deadline = deadline;
    for (const w of this.paramWaiters) w.deadline = deadline;
    logHoldEnd(this.log, outcome, seconds, this.waiters.length);
    this.switchObserver?.(this.tenantId, seconds, outcome);
    if (!this.pausedFlag) this.holdObserver?.(false);
    if (!this.closed && !this.pausedFlag && this.waiters.length > 0) this.grow();
    // Logins that waited for the server parameters during the hold ask the target now.
    if (!this.closed && this.paramWaiters.length > 0 && this.connectingNow === 0 && this.retryTimer === undefined && this.mayOpen()) this.openServer();
  }

  close(): void {
    this.closed = true;
    this.switchHold?.stop();
    this.switchHold = undefined;
    if (this.timer) clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const w of this.waiters.splice(0)) {
      w.client.checkoutFailed(new PoolerError('TENANT_REMOVED', `tenant "${this.tenantId}" is no longer served by this pooler`));
    }
    // Logins waiting for server parameters would otherwise wait for a retry that never comes.
    this.flushParamWaiters(new PoolerError('TENANT_REMOVED', `tenant "${this.tenantId}" is no longer served by this pooler`));
    this.retireAll();
    this.flushPauseWaiters();
  }

  /** A planned switchover holds this pool (backend/switchover.ts). */
  get switching(): boolean {
    return this.switchHold !== undefined;
  }

  /** close() was called (the pool may still have connections closing). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Server connections currently open (for drain/shutdown). */
  get serverCount(): number {
    return this.all.size;
  }

  closeAllServers(reason: DisconnectReason): void {
    for (const s of [...this.all]) s.close(reason);
  }

  stats(): PoolStats {
    return {
      tenantId: this.tenantId,
      mode: this.settings.mode,
      size: this.settings.size,
      serversActive: this.all.size - this.idle.length - this.parked.size,
      serversIdle: this.idle.length + this.parked.size,
      serversConnecting: this.connecting,
      clientsWaiting: this.waiters.length,
      // From the oldest waiter's enqueue time, not its deadline: a reload may change checkout_timeout.
      maxWaitMs: this.waiters.length > 0 ? performance.now() - this.waiters[0]!.since : 0,
      ...(this.leaseSize !== Infinity ? { leaseSize: this.leaseSize } : {}),
      totalCheckouts: this.totalCheckouts,
      totalCheckoutTimeouts: this.totalCheckoutTimeouts,
      totalServerConnects: this.totalServerConnects,
      totalServerConnectErrors: this.totalServerConnectErrors,
      switching: this.switchHold !== undefined,
    };
  }

  // ---- fleet budgets (cluster/budget-lease.ts) ----------------------------------------------

  /**
   * Sets this pooler's share of the tenant's fleet-wide size: above it, idle connections close now
   * and busy ones when released, and checkouts wait (bounded by checkout_timeout) — the pool's
   * effective size is min(size, share). `force` (the lease is expiring unrenewed) closes busy
   * connections above it as well.
   */
  setLeaseSize(n: number, force = false): void {
    const raised = n > this.leaseSize;
    this.leaseSize = n;
    // A connection closing still counts until its socket has closed: close just the excess.
    let excess = this.leaseUsage - n;
    while (excess > 0 && this.idle.length > 0) {
      this.closeForLease(this.idle.shift()!);
      excess--;
    }
    for (let s = excess > 0 ? this.takeParked() : undefined; s !== undefined; s = --excess > 0 ? this.takeParked() : undefined) this.closeForLease(s);
    // The lease expires: busy connections above it close too (their clients get SERVER_LOST).
    if (force) {
      for (const server of [...this.all]) {
        if (excess-- <= 0) break;
        this.closeForLease(server);
      }
    }
    if (!raised || this.closed) return;
    if (!this.holding && this.waiters.length > 0) this.grow();
    if (this.paramWaiters.length > 0 && this.connectingNow === 0 && this.retryTimer === undefined && this.switchHold === undefined && this.mayOpen()) this.openServer();
  }

  /** Within this pool's share and its cluster's (queued at the cluster's gate when `queue` and refused). */
  private mayOpen(queue = true): boolean {
    return this.leaseUsage < this.leaseSize && (this.gate === undefined || this.gate.mayOpen(this, queue));
  }

  /** The cluster gate woke us: open connections for whoever waits, if we may now. */
  kick(): void {
    if (this.closed) return;
    if (!this.holding && this.waiters.length > 0) this.grow();
    if (this.paramWaiters.length > 0 && this.connectingNow === 0 && this.retryTimer === undefined && this.switchHold === undefined && this.mayOpen()) this.openServer();
  }

  /** Closes the longest-idle connection (another tenant of the cluster needs the room); false if none is idle. */
  closeOneIdle(): boolean {
    const server = this.idle.shift() ?? this.takeParked();
    if (server === undefined) return false;
    this.closeForLease(server);
    return true;
  }

  /**
   * What was used up, for a checkout timeout: the pool's size, or this pooler's share of the fleet
   * budgets (docs/fleet.md) — then raising the pool size is not the remedy.
   */
  private busyDetail(): { detail: string; hint: string } {
    if (this.leaseSize < this.settings.size) {
      return {
        detail: `this pooler's share of the fleet budget of the tenant's size ${this.settings.size} is ${this.leaseSize} server connection(s), all in use`,
        hint: 'shorten transactions, or raise the size; a share of 0 means this pooler holds no lease (see GET /poolers) or there are more poolers than the size',
      };
    }
    if (this.gate !== undefined && this.gate.usage() >= this.gate.limit) {
      return {
        detail: `this pooler's share of the cluster's connection budget (${this.gate.limit}) is in use by the cluster's tenants`,
        hint: 'shorten transactions, or raise the cluster connection budget (docs/fleet.md)',
      };
    }
    return { detail: `all ${this.settings.size} server connections of the pool are busy`, hint: 'raise the pool size or shorten transactions' };
  }

  /** Server connections counted against the lease: open, opening, and closed but not yet gone (onServerGone). */
  get leaseUsage(): number {
    return this.all.size + this.connecting + this.closing;
  }

  /** Closes a connection above the lease; it counts against the lease until its socket has closed (onServerGone). */
  private closeForLease(server: ServerConnection): void {
    server.close('lease_lowered');
  }

  // ---- admin console: PAUSE / RESUME, SHOW CLIENTS / SERVERS ------------------------------

  get paused(): boolean {
    return this.pausedFlag;
  }

  /**
   * Stops handing out server connections: new checkouts queue (still bounded by checkout_timeout),
   * idle connections close now and busy ones when released. Resolves once no server connection
   * is open or opening (PgBouncer's PAUSE), or when resume()/close() comes first.
   */
  pause(): Promise<void> {
    this.pausedFlag = true;
    this.retireAll();
    this.holdObserver?.(true);
    const done = new Promise<void>((resolve) => this.pauseWaiters.push(resolve));
    this.checkPaused();
    return done;
  }

  /** Ends a pause: queued clients get connections (opened as needed). */
  resume(): void {
    if (!this.pausedFlag) return;
    this.pausedFlag = false;
    this.flushPauseWaiters();
    if (this.switchHold === undefined) this.holdObserver?.(false);
    if (!this.closed && this.waiters.length > 0 && this.switchHold === undefined) this.grow();
  }

  private checkPaused(): void {
    if (this.all.size === 0 && this.connecting === 0) this.flushPauseWaiters();
  }

  private flushPauseWaiters(): void {
    const ws = this.pauseWaiters;
    if (ws.length === 0) return;
    this.pauseWaiters = [];
    for (const w of ws) w();
  }

  /** Every open server connection and whether it is idle in the pool (parked: idle, to be reset before another client uses it). */
  listServers(): { server: ServerConnection; idle: boolean; parked: boolean }[] {
    const idle = new Set(this.idle);
    return [...this.all].map((server) => ({ server, idle: idle.has(server) || server.parkedFor !== null, parked: server.parkedFor !== null }));
  }

  /** How long `client` has been queued for a server connection, ms; undefined if it is not queued. */
  waitedMs(client: PoolClient): number | undefined {
    const w = this.waiters.find((x) => x.client === client);
    return w === undefined ? undefined : performance.now() - w.since;
  }
}
