// The pooler process: the client listener and the tenant registry — the current routing snapshot,
// one pool per tenant, the logged-in clients — with reload and drain. Beside it: cancel routing
// (cancel-router.ts) and the admin console (admin-console.ts); a connection's login is
// frontend/login.ts, which hands an authenticated tenant login back here to become a client.
import { pinStatsOf, type PinStats } from './frontend/pin.ts';
import { createServer, type Server, type Socket } from 'node:net';
import type { FleetLimits } from './backend/fleet-limits.ts';
import { Pool, type PoolHooks, type PoolStats, type TargetSuspicion } from './backend/pool.ts';
import { ReaderLagBook } from './backend/reader-lag.ts';
import { ReadRouter } from './backend/reader-router.ts';
import { readerLogins } from './backend/reader-logins.ts';
import { buildSnapshot, ConfigError, type SkippedTenant, type Snapshot, type TenantRoute } from './config/snapshot.ts';
import type { PoolerConfig, PoolerConfigInput } from './config/schema.ts';
import { validateConfig } from './config/validate.ts';
import { serverScramKeys } from './auth/scram-keys.ts';
import { PoolerError, type DisconnectReason } from './errors.ts';
import { ClientConnection, type ClientHost } from './frontend/client.ts';
import type { ServerConnection } from './backend/server.ts';
import { acceptClient, type AuthenticatedLogin, type LoginHost } from './frontend/login.ts';
import { Admission, type Refusal } from './frontend/admission.ts';
import { CLIENT_TLS_DISABLED, loadClientTls, type ClientTls } from './frontend/client-tls.ts';
import { createLogger, type Logger } from './log.ts';
import * as msg from './net/messages.ts';
import { StatementRegistries, type StatementRegistry } from './prepared/registry.ts';
import type { PeerLookup } from './cluster/peer-directory.ts';
import type { Credentials } from './admin/users.ts';
import { AdminConsole, type AdminRegistry } from './admin-console.ts';
import { CancelRouter } from './cancel-router.ts';
import { MetricsHttpServer } from './stats/http.ts';
import { createMetrics, type PoolerMetrics } from './stats/metrics.ts';
import type { ReaderMetricsSource } from './stats/reader-metrics.ts';
import { StatsPeriod } from './stats/averages.ts';
import { LatencyBook, type TenantLatency } from './stats/latency.ts';
import { TotalsBook, type TenantTotals } from './stats/totals.ts';
import { Listeners, type TenantListener } from './backend/listener.ts';
import type { ListenStats } from './stats/listen-metrics.ts';

export interface PoolerOptions {
  logger?: Logger;
  /** Directory that relative paths in the config (password_file) are resolved against. */
  baseDir?: string;
  /** The cancel-key node id when `cluster.node_id` is auto (leased: cluster/node-lease.ts). */
  nodeId?: number;
  /** Where other nodes take forwarded cancels, beyond `cluster.peers` (cluster/peer-directory.ts). */
  peers?: PeerLookup;
}

function ignoreError(): void {}

/** How long a refused connection may take to receive its 53300 before it is destroyed. */
const REFUSED_LINGER_MS = 5000;

export class Pooler implements LoginHost, ClientHost, AdminRegistry {
  readonly log: Logger;
  config: PoolerConfig;
  private current: Snapshot;
  private readonly pools = new Map<string, Pool>();
  /** The fleet budgets' limits on the pools (backend/fleet-limits.ts); undefined without fleet budgets. */
  fleetLimits: FleetLimits | undefined;
  private readonly clients = new Set<ClientConnection>();
  private readonly clientCounts = new Map<string, number>();
  private readonly server: Server;
  private readonly baseDir: string;
  /** Where CancelRequests go; issues the clients' cancel keys. */
  readonly cancels: CancelRouter;
  /** The admin console: its sessions and the commands' view of this pooler. */
  readonly admin: AdminConsole;
  private readonly sweepTimer: NodeJS.Timeout;
  draining = false;
  private version = 1;
  /** The listener's TLS mode and SecureContext (docs/tls.md); rebuilt by reloadClientTls(). */
  clientTls: ClientTls = CLIENT_TLS_DISABLED;
  /**
   * How requestReload() (the admin console's RELOAD) re-reads the configuration: SourceController.reload, set by
   * the config source controller (config/sources/controller.ts).
   */
  reloadHandler: ((reason: string) => Promise<void>) | undefined;
  /** Told when a pool doubts its target (rate-limited per pool): the source refreshes targets. */
  targetSuspectHandler: ((tenantId: string, reason: TargetSuspicion) => void) | undefined;
  private readonly poolHooks: PoolHooks = {
    suspectTarget: (pool, reason) => this.targetSuspectHandler?.(pool.tenantId, reason),
  };

  constructor(input: PoolerConfigInput | PoolerConfig, opts: PoolerOptions = {}) {
    const { config, skipped } = validateConfig(input);
    this.config = config;
    this.baseDir = opts.baseDir ?? process.cwd();
    this.log = opts.logger ?? createLogger(config.log_level);
    serverScramKeys.maxIterations = config.limits.max_server_scram_iterations;
    this.current = buildSnapshot(config, this.version, this.baseDir, undefined, skipped);
    this.reportSkipped(this.current);
    this.readerLag = new ReaderLagBook(this.log);
    this.readerLag.sync(readerLogins(this.current));
    const configured = config.cluster?.node_id;
    if (configured === 'auto' && opts.nodeId === undefined) {
      throw new ConfigError('cluster.node_id auto leases the node id from the store of the local or aws source; the file source has none: set a number');
    }
    this.cancels = new CancelRouter(opts.nodeId ?? (typeof configured === 'number' ? configured : 0), this.log, () => this.config.cluster, opts.peers);
    this.admin = new AdminConsole(this);
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
    this.clientTls = loadClientTls(config.listen.tls, this.baseDir);
    // allowHalfOpen: a CancelRequest sender may half-close right away, yet must see its connection
    // closed only after the cancel was delivered (Pooler.cancel); other sockets end on 'end'.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'listener error'));
  }

  /** Named prepared statements, one registry per tenant (prepared/registry.ts). */
  private readonly statements = new StatementRegistries(() => this.config.prepared_statements.max_bytes_per_tenant);

  statementRegistry(tenantId: string): StatementRegistry {
    return this.statements.forTenant(tenantId);
  }

  /** One listening server connection per tenant, for LISTEN in transaction mode (backend/listener.ts). */
  private readonly listeners = new Listeners(() => this.log);

  listenerFor(route: TenantRoute): TenantListener {
    // A client of a tenant a reload removed (closed at its transaction's end): no pool and no
    // listening connection are made for the tenant again; its LISTEN is refused.
    if (!this.current.byId.has(route.id)) return this.listeners.closed(route.id);
    const pool = this.poolFor(route);
    return this.listeners.forTenant(route.id, {
      target: () => pool.target,
      holding: () => pool.holding,
      timeouts: () => ({ connect: pool.settings.connect_timeout, wait: pool.settings.checkout_timeout }),
    });
  }

  /** The tenant's listener, if any client of it used LISTEN (tests, admin). */
  listener(tenantId: string): TenantListener | undefined {
    return this.listeners.get(tenantId);
  }

  listenStats(): ListenStats[] {
    return [...this.listeners.entries()].map((l) => ({ tenantId: l.tenantId, ...l.counts(), delivered: l.delivered, dropped: l.dropped }));
  }

  get preparedCacheSize(): number {
    return this.config.prepared_statements.cache_size;
  }

  get maxMessageSize(): number {
    return this.config.limits.max_message_size;
  }

  /**
   * Binds the listener. `reusePort`, for a worker of `--workers N`: with SO_REUSEPORT every worker
   * binds the same port and the kernel spreads new connections across them (Linux >= 3.9, Node >=
   * 22.12), so no process sits in the accept path and a worker that dies leaves the others listening.
   */
  listen(opts: { reusePort?: boolean } = {}): Promise<void> {
    const reusePort = opts.reusePort === true;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: this.config.listen.port, host: this.config.listen.host, ...(reusePort ? { reusePort } : {}) }, () => {
        this.server.removeListener('error', reject);
        this.log.info({ host: this.host, port: this.port, tenants: this.current.byId.size }, reusePort ? 'pooler worker listening' : 'pooler listening');
        resolve();
      });
    });
  }

  /** listen() for a worker of `--workers N` (cluster/worker.ts). */
  listenShared(): Promise<void> {
    return this.listen({ reusePort: true });
  }

  /** This process's cancel-key node (fixed for its lifetime: its clients' keys carry it). */
  get nodeId(): number {
    return this.cancels.nodeId;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get host(): string {
    return this.config.listen.host;
  }

  private onConnection(socket: Socket): void {
    // Never an unhandled 'error' before the client's own listeners are in place; one shared
    // function rather than a closure per connection (memory per idle client).
    socket.on('error', ignoreError);
    const refusal = this.admission.admit(socket, this.config.limits);
    if (refusal !== undefined) return this.refuseConnection(socket, refusal);
    acceptClient(socket, this);
  }

  /** Connections open and not yet logged in, per address (frontend/admission.ts). */
  private readonly admission = new Admission();

  /**
   * Answers FATAL 53300 before the start-up packet, as PostgreSQL does when it is full ("sorry,
   * too many clients already"), and closes: nothing of the client is read or kept.
   */
  private refuseConnection(socket: Socket, refusal: Refusal): void {
    this.refusedByLimit.set(refusal.limit, (this.refusedByLimit.get(refusal.limit) ?? 0) + 1);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ limit: refusal.limit, address: socket.remoteAddress }, 'connection refused');
    socket.end(msg.errorResponse({ severity: 'FATAL', code: '53300', message: refusal.message }));
    // A peer that never reads, or keeps its half open, must not keep the socket (refused ones are
    // counted nowhere): 'end' flushes, destroy() after a fixed bound. Not an idle timeout, which
    // a byte now and then from the peer would keep resetting.
    const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    socket.once('close', () => clearTimeout(linger));
  }

  private readonly refusedByLimit = new Map<string, number>();

  refusedConnections(): ReadonlyMap<string, number> {
    return this.refusedByLimit;
  }

  skippedTenantCount(): number {
    return this.current.skipped?.length ?? 0;
  }

  // ---- the tenant registry (LoginHost, ClientHost) ------------------------------------------

  snapshot(): Snapshot {
    return this.current;
  }

  poolFor(route: TenantRoute, read = false): Pool {
    if (read) return this.readRouterFor(route).choose();
    let pool = this.pools.get(route.id);
    if (pool === undefined) {
      pool = new Pool(route.id, route.target, route.pool, this.log, this.poolHooks);
      this.fleetLimits?.attach(pool);
      this.pools.set(route.id, pool);
      this.poolCreated(pool);
    }
    return pool;
  }

  /** Replica lag of every reader some tenant reads from (one probe per reader: backend/reader-lag.ts). */
  readonly readerLag: ReaderLagBook;
  private readonly readRouters = new Map<string, ReadRouter>();

  /** The tenant's read endpoint router (created on first use, like the pool). */
  readRouterFor(route: TenantRoute): ReadRouter {
    let r = this.readRouters.get(route.id);
    if (r === undefined) {
      r = new ReadRouter(route, this.poolFor(route), this.readerLag, this.log, (pool) => this.readerPoolCreated(pool));
      this.readRouters.set(route.id, r);
    }
    return r;
  }

  /** Reader lag and read routing for the metrics (stats/reader-metrics.ts). */
  readonly readerMetrics: ReaderMetricsSource = {
    readerLags: () => [...this.readerLag.all()].map((p) => ({ key: p.key, lagMs: p.lagMs })),
    readRouting: () => [...this.readRouters.values()].map((r) => ({ tenantId: r.tenantId, routedToReader: r.routedToReader, routedToWriter: r.routedToWriter })),
  };

  /** The read endpoint routers created so far (SHOW POOLS/SERVERS, metrics). */
  readRouterList(): Iterable<ReadRouter> {
    return this.readRouters.values();
  }

  admitClient(login: AuthenticatedLogin): ClientConnection {
    const route = login.route;
    const n = this.clientCounts.get(route.id) ?? 0;
    if (n >= route.pool.max_clients) {
      throw new PoolerError('TOO_MANY_CLIENTS', `too many client connections for tenant "${route.id}" (max_clients ${route.pool.max_clients})`);
    }
    this.clientCounts.set(route.id, n + 1);
    this.admission.loggedIn(login.socket);
    const client = new ClientConnection(login.socket, this, route, this.poolFor(route));
    if (login.read === true) {
      client.reads = this.readRouterFor(route);
      client.reads.track(client);
    }
    this.cancels.register(client);
    this.clients.add(client);
    return client;
  }

  loginEnded(reason: DisconnectReason): void {
    this.disconnects.set(reason, (this.disconnects.get(reason) ?? 0) + 1);
  }

  clientGone(client: ClientConnection, reason: DisconnectReason): void {
    this.disconnects.set(reason, (this.disconnects.get(reason) ?? 0) + 1);
    if (!this.clients.has(client)) return;
    this.totals.clientGone(client);
    this.clients.delete(client);
    this.cancels.unregister(client);
    client.reads?.untrack(client);
    const id = client.route?.id;
    if (id !== undefined) this.clientCounts.set(id, (this.clientCounts.get(id) ?? 1) - 1);
    // Guarded: client.log builds a child logger, which would cost every login at the default level.
    if (this.log.isLevelEnabled('debug')) client.log.debug({ reason }, 'client disconnected');
    if (this.draining && this.clients.size === 0) this.drainResolve?.();
  }

  cancel(processId: number, secretKey: number): Promise<void> {
    return this.cancels.cancel(processId, secretKey);
  }

  /** A cancel relayed by a peer pooler or this machine's supervisor (CancelRouter.cancelOwn). */
  cancelOwn(processId: number, secretKey: number): Promise<boolean> {
    return this.cancels.cancelOwn(processId, secretKey);
  }

  adminCredentials(user: string): Credentials | undefined {
    return this.admin.credentials(user);
  }

  startAdminSession(socket: Socket, params: Record<string, string>, rest: Buffer): void {
    this.admission.loggedIn(socket);
    this.admin.startSession(socket, params, rest);
  }

  /** Once a second: the per-client timeouts (ClientConnection.checkTimeouts). */
  private sweep(): void {
    const now = Date.now();
    const cancel = (server: ServerConnection): void => void this.cancels.cancelServerQuery(server);
    for (const c of this.clients) c.checkTimeouts(now, cancel);
  }

  // ---- reload ---------------------------------------------------------------------------

  /**
   * Swaps in a new routing snapshot built from `input`. Unchanged tenants keep their pools and
   * server connections; a changed destination retires the old server connections (idle at once,
   * busy ones when their transaction ends); removed or suspended tenants' clients are closed at
   * their next transaction boundary (docs/architecture.md, "Reload semantics").
   */
  reload(input: PoolerConfigInput | PoolerConfig): void {
    const { config, skipped } = validateConfig(input);
    const next = buildSnapshot(config, this.version + 1, this.baseDir, this.current, skipped);
    this.version++;
    this.reloadCount++;
    this.config = config;
    this.current = next;
    serverScramKeys.maxIterations = config.limits.max_server_scram_iterations;
    this.reportSkipped(next);
    this.reloadClientTls(config);
    for (const [id, pool] of this.pools) {
      const route = next.byId.get(id);
      if (route === undefined) {
        pool.close();
        this.totals.poolGone(pool);
        this.pools.delete(id);
        this.statements.drop(id);
        this.listeners.remove(id);
      } else {
        const before = pool.target;
        pool.retarget(route.target, route.pool);
        if (pool.target !== before) this.listeners.retarget(id);
      }
    }
    this.readerLag.sync(readerLogins(next));
    for (const [id, router] of this.readRouters) {
      const route = next.byId.get(id);
      if (route?.read === undefined) {
        router.close();
        this.readRouters.delete(id);
      } else {
        router.update(route);
      }
    }
    this.latency.removedExcept(next.byId);
    for (const client of this.clients) {
      const route = client.route === null ? undefined : next.byId.get(client.route.id);
      if (route === undefined) client.closeAtBoundary(new PoolerError('TENANT_REMOVED', 'the tenant was removed'), 'tenant_removed');
      else if (route.status !== 'active') client.closeAtBoundary(new PoolerError('TENANT_SUSPENDED', `tenant "${route.id}" is suspended`), 'tenant_suspended');
      else if (route.user !== client.route!.user || route.database !== client.route!.database) client.closeAtBoundary(new PoolerError('TENANT_REMOVED', 'the tenant login changed'), 'tenant_removed');
      else if (client.reads !== null && route.read === undefined) client.closeAtBoundary(new PoolerError('TENANT_REMOVED', 'the tenant’s read endpoint was disabled'), 'tenant_removed');
      else client.route = route;
    }
    this.log.info({ version: this.version, tenants: next.byId.size, skipped: next.skipped?.length ?? 0 }, 'configuration reloaded');
  }

  /** One warning per tenant left out of the snapshot (also in SHOW CONFIG and the metrics). */
  private reportSkipped(snapshot: Snapshot): void {
    for (const t of snapshot.skipped ?? []) this.log.warn({ tenant: t.id, reason: t.reason }, 'tenant skipped: not served by this configuration');
  }

  /** Tenants of the configuration in use that are not served (invalid, or in conflict). */
  skippedTenants(): readonly SkippedTenant[] {
    return this.current.skipped ?? [];
  }

  /**
   * Re-reads the listener's certificate, key and CA files (certificates rotate on reload); new
   * connections get the new context, established ones keep theirs. A file that cannot be read or
   * parsed keeps the previous TLS settings and logs: a bad rotation must not take TLS away.
   */
  reloadClientTls(config: PoolerConfig = this.config): boolean {
    try {
      this.clientTls = loadClientTls(config.listen.tls, this.baseDir);
      return true;
    } catch (err) {
      this.log.error({ err: (err as Error).message, mode: this.clientTls.mode }, 'listener TLS not reloaded; keeping the previous certificate');
      return false;
    }
  }

  /** The control plane's published config version applied last (set by the source controller; metric and SHOW CONFIG). */
  appliedConfigVersion: number | undefined;

  get configVersion(): number {
    return this.version;
  }

  /** Re-reads the configuration from its source and reloads; rejects (keeping the snapshot) on failure. */
  requestReload(reason = 'admin'): Promise<void> {
    if (this.reloadHandler === undefined) return Promise.reject(new ConfigError('this pooler has no configuration source to reload from'));
    return this.reloadHandler(reason);
  }

  // ---- shutdown -------------------------------------------------------------------------

  private drainResolve: (() => void) | undefined;

  /**
   * Stops accepting, lets transactions finish (clients are closed at their next transaction
   * boundary) for at most `timeoutMs`, then closes everything.
   */
  async close(timeoutMs = this.config.limits.shutdown_timeout * 1000): Promise<void> {
    clearInterval(this.sweepTimer);
    if (!this.draining) {
      this.draining = true;
      this.server.close();
      this.log.info({ clients: this.clients.size }, 'draining');
      const drained = new Promise<void>((resolve) => (this.drainResolve = resolve));
      for (const c of this.clients) c.closeAtBoundary(new PoolerError('SHUTTING_DOWN', 'the pooler is shutting down'), 'shutdown');
      if (this.clients.size > 0) {
        let t: NodeJS.Timeout | undefined;
        await Promise.race([drained, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
        clearTimeout(t);
      }
    }
    for (const c of [...this.clients]) c.fail(new PoolerError('SHUTTING_DOWN', 'the pooler is shutting down'), 'shutdown');
    for (const pool of this.pools.values()) {
      pool.close();
      pool.closeAllServers('shutdown');
    }
    this.pools.clear();
    for (const r of this.readRouters.values()) r.close();
    this.readRouters.clear();
    this.readerLag.close();
    this.listeners.closeAll();
    await this.closeAdminAndStats();
  }

  poolStats(): PoolStats[] {
    return [...this.pools.values()].map((p) => p.stats());
  }

  clientList(): readonly ClientConnection[] {
    return [...this.clients];
  }

  /** The pools created so far. */
  allPools(): Iterable<Pool> {
    const readers = [...this.readRouters.values()].flatMap((r) => r.readerPools().map((x) => x.pool));
    return [...this.pools.values(), ...readers];
  }

  /** The reader pools of the tenant's read endpoint (admin PAUSE, RESUME, KILL, RECONNECT). */
  readerPoolsOf(tenantId: string): Pool[] {
    return this.readRouters.get(tenantId)?.readerPools().map((r) => r.pool) ?? [];
  }

  pool(tenantId: string): Pool | undefined {
    return this.pools.get(tenantId);
  }

  // ---- metrics, stats, health (stats/) ------------------------------------------------------

  /** Client disconnects by reason since start (metrics), logins that never became clients included. */
  private readonly disconnects = new Map<string, number>();
  private readonly totals = new TotalsBook();
  /** Transaction and query times per tenant (ClientHost.latencyFor). */
  private readonly latency = new LatencyBook();
  private readonly statsPeriod = new StatsPeriod(() => this.tenantTotals());
  private metrics: PoolerMetrics | undefined;
  private metricsHttp: MetricsHttpServer | undefined;
  private closedResolve: (() => void) | undefined;
  private readonly closedPromise = new Promise<void>((resolve) => (this.closedResolve = resolve));
  /** Configuration reloads applied (metrics). */
  reloadCount = 0;

  /** Resolves when close() has finished (SIGTERM, or the admin console's SHUTDOWN). */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** The metrics endpoint's port, once started (0 when not configured). */
  get metricsPort(): number {
    return this.metricsHttp?.port ?? 0;
  }

  /** Listening for clients and not draining: what /readyz reports. */
  get ready(): boolean {
    return this.server.listening && !this.draining;
  }

  /** Starts /metrics, /healthz, /readyz when the config has a `metrics` block (startPooler calls it). */
  async startMetrics(): Promise<void> {
    this.statsPeriod.start();
    const cfg = this.config.metrics;
    if (cfg === undefined || this.metricsHttp !== undefined) return;
    this.metrics ??= createMetrics(this);
    this.metricsHttp = await MetricsHttpServer.start({ host: cfg.host, port: cfg.port, registry: this.metrics.registry, ready: () => this.ready, log: this.log });
  }

  /** The Prometheus registry (created on first use), e.g. for tests or an embedding process. */
  metricsRegistry(): PoolerMetrics['registry'] {
    this.metrics ??= createMetrics(this);
    return this.metrics.registry;
  }

  /**
   * A read endpoint's reader pool: its queue waits count in the tenant's checkout-wait histogram
   * and a PAUSE of everything holds it; a switchover hold it shares with the tenant's own pool is
   * counted once, there.
   */
  private readerPoolCreated(pool: Pool): void {
    pool.waitObserver = (tenantId, seconds) => this.metrics?.observeCheckoutWait(tenantId, seconds);
    this.admin.poolCreated(pool);
  }

  private poolCreated(pool: Pool): void {
    pool.waitObserver = (tenantId, seconds) => this.metrics?.observeCheckoutWait(tenantId, seconds);
    pool.switchObserver = (tenantId, seconds, outcome) => this.metrics?.observeSwitchover(tenantId, seconds, outcome);
    pool.holdObserver = (holding) => this.listeners.get(pool.tenantId)?.holdChanged(holding);
    this.admin.poolCreated(pool);
  }

  private async closeAdminAndStats(): Promise<void> {
    this.admin.terminateAll(new PoolerError('SHUTTING_DOWN', 'the pooler is shutting down'));
    this.statsPeriod.stop();
    const http = this.metricsHttp;
    this.metricsHttp = undefined;
    await http?.close();
    this.closedResolve?.();
  }

  // MetricsSource (stats/metrics.ts), and the admin console's SHOW STATS.

  tenantIds(): Iterable<string> {
    return this.current.byId.keys();
  }

  clientsPerTenant(): ReadonlyMap<string, number> {
    return this.clientCounts;
  }

  tenantTotals(): Map<string, TenantTotals> {
    return this.totals.collect(this.clients, this.pools.values(), this.latency.entries());
  }

  latencyFor(tenantId: string): TenantLatency {
    return this.latency.forTenant(tenantId);
  }

  tenantLatency(): ReadonlyMap<string, TenantLatency> {
    return this.latency.entries();
  }

  /** Since when the times count (ISO): the process's start (heartbeat statsSince). */
  get latencySince(): string {
    return this.latency.since;
  }

  statsAverages(): ReadonlyMap<string, TenantTotals> {
    return this.statsPeriod.averages();
  }

  /** Pinned clients and pins counted, per tenant (frontend/pin.ts). */
  pinStats(): Map<string, PinStats> {
    const out = new Map<string, PinStats>();
    for (const [id, pool] of this.pools) out.set(id, pinStatsOf(pool));
    return out;
  }

  disconnectCounts(): ReadonlyMap<string, number> {
    return this.disconnects;
  }

  isPaused(tenantId: string): boolean {
    return this.admin.isPaused(tenantId);
  }
}

export async function startPooler(input: PoolerConfigInput, opts: PoolerOptions = {}): Promise<Pooler> {
  const pooler = new Pooler(input, opts);
  await pooler.listen();
  try {
    await pooler.startMetrics();
  } catch (err) {
    await pooler.close(0);
    throw err;
  }
  return pooler;
}
