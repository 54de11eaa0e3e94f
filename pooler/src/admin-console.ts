// The admin console of one pooler (databases `switchyard` / `pgbouncer`): its sessions, and the
// AdminHost its commands act on (admin/host.ts). It acts on the pooler's tenant registry only
// through AdminRegistry, so the Pooler class keeps no SHOW or PAUSE logic and this file needs
// nothing from pooler.ts.
import type { Socket } from 'node:net';
import type { AdminGroup, AdminHost } from './admin/host.ts';
import { AdminSession, type AdminSessionHost } from './admin/session.ts';
import { adminCredentials, type Credentials } from './admin/users.ts';
import type { Pool } from './backend/pool.ts';
import type { PoolerConfig } from './config/schema.ts';
import type { Snapshot, TenantRoute } from './config/snapshot.ts';
import { PoolerError } from './errors.ts';
import type { ClientConnection } from './frontend/client.ts';
import type { Logger } from './log.ts';
import type { ReadRouter } from './backend/reader-router.ts';
import type { TenantLatency } from './stats/latency.ts';
import type { TenantTotals } from './stats/totals.ts';

/**
 * What the console needs of the pooler (implemented by Pooler): the registry's side of AdminHost
 * (admin/host.ts documents each member), and the pools themselves.
 */
export interface AdminRegistry
  extends Pick<
    AdminHost,
    'config' | 'port' | 'configVersion' | 'appliedConfigVersion' | 'draining' | 'snapshot' | 'pool' | 'clientList' | 'tenantTotals' | 'statsAverages' | 'tenantLatency' | 'close'
  > {
  readonly log: Logger;
  /** The pools created so far (pools appear on first login). */
  allPools(): Iterable<Pool>;
  poolFor(route: TenantRoute): Pool;
  requestReload(): Promise<void>;
  /** The read endpoints' routers (admin/reader-pools.ts). */
  readRouterList?(): Iterable<ReadRouter>;
  /** The tenant's read endpoint's reader pools: PAUSE, RESUME, KILL, RECONNECT act on them too. */
  readerPoolsOf?(tenantId: string): Pool[];
}

export class AdminConsole implements AdminSessionHost {
  private readonly registry: AdminRegistry;
  private readonly sessions = new Set<AdminSession>();
  /** Admin PAUSE without a database: pools created while it lasts start paused too. */
  private pausedAll = false;
  /**
   * Set when this pooler is one worker of several on the machine (`--workers N`): commands go to
   * the group, which runs them on every worker and merges the answers (cluster/worker-admin.ts).
   */
  adminGroup: AdminGroup | undefined;

  constructor(registry: AdminRegistry) {
    this.registry = registry;
  }

  get log(): Logger {
    return this.registry.log;
  }

  get config(): PoolerConfig {
    return this.registry.config;
  }

  get port(): number {
    return this.registry.port;
  }

  get configVersion(): number {
    return this.registry.configVersion;
  }

  get appliedConfigVersion(): number | undefined {
    return this.registry.appliedConfigVersion;
  }

  get draining(): boolean {
    return this.registry.draining;
  }

  // ---- sessions -------------------------------------------------------------------------

  /** The admin user's verifiers (config `admin`, admin/users.ts), undefined if unknown. */
  credentials(user: string): Credentials | undefined {
    return adminCredentials(this.registry.config.admin, user);
  }

  /** Takes over an authenticated admin connection, right after AuthenticationOk; `rest` = bytes already received. */
  startSession(socket: Socket, params: Record<string, string>, rest: Buffer): void {
    const session = new AdminSession(socket, this, params);
    this.sessions.add(session);
    session.start(rest);
  }

  adminSessionGone(session: AdminSession): void {
    this.sessions.delete(session);
  }

  adminSessionList(): readonly AdminSession[] {
    return [...this.sessions];
  }

  /** Ends every session with a FATAL (the pooler is shutting down). */
  terminateAll(err: PoolerError): void {
    for (const s of [...this.sessions]) s.terminate(err);
  }

  // ---- AdminHost: what the commands read --------------------------------------------------

  snapshot(): Snapshot {
    return this.registry.snapshot();
  }

  pool(tenantId: string): Pool | undefined {
    return this.registry.pool(tenantId);
  }

  readRouterList(): Iterable<ReadRouter> {
    return this.registry.readRouterList?.() ?? [];
  }

  clientList(): readonly ClientConnection[] {
    return this.registry.clientList();
  }

  tenantTotals(): Map<string, TenantTotals> {
    return this.registry.tenantTotals();
  }

  statsAverages(): ReadonlyMap<string, TenantTotals> {
    return this.registry.statsAverages();
  }

  tenantLatency(): ReadonlyMap<string, TenantLatency> {
    return this.registry.tenantLatency();
  }

  isPaused(tenantId: string): boolean {
    return this.registry.pool(tenantId)?.paused ?? this.pausedAll;
  }

  // ---- AdminHost: what the commands do ----------------------------------------------------

  /** A pool the registry just created: paused too while a PAUSE of every tenant lasts. */
  poolCreated(pool: Pool): void {
    if (this.pausedAll) void pool.pause();
  }

  /** Admin PAUSE: the given tenants, or every tenant (and those a reload adds) when omitted. */
  async pause(tenantIds?: readonly string[]): Promise<void> {
    if (tenantIds === undefined) this.pausedAll = true;
    const routes = this.registry.snapshot().byId;
    const waits: Promise<void>[] = [];
    for (const id of tenantIds ?? [...routes.keys()]) {
      const route = routes.get(id);
      if (route === undefined) continue;
      waits.push(this.registry.poolFor(route).pause());
      for (const p of this.readerPools(id)) waits.push(p.pause());
    }
    await Promise.all(waits);
  }

  /** Admin RESUME: the given tenants, or every paused tenant when omitted. */
  resume(tenantIds?: readonly string[]): void {
    if (tenantIds === undefined) {
      this.pausedAll = false;
      for (const pool of this.registry.allPools()) pool.resume();
      return;
    }
    for (const id of tenantIds) {
      this.registry.pool(id)?.resume();
      for (const p of this.readerPools(id)) p.resume();
    }
  }

  /** The tenant's reader pools (its read endpoint), if any. */
  private readerPools(tenantId: string): Pool[] {
    return this.registry.readerPoolsOf?.(tenantId) ?? [];
  }

  /** Admin KILL: every client and server connection of the tenant ends now; the tenant stays paused. */
  kill(tenantId: string): void {
    const route = this.registry.snapshot().byId.get(tenantId);
    if (route === undefined) return;
    const pool = this.registry.poolFor(route);
    void pool.pause();
    const readers = this.readerPools(tenantId);
    for (const p of readers) void p.pause();
    const err = new PoolerError('SHUTTING_DOWN', 'terminating connection due to administrator command', { detail: `admin KILL of tenant "${tenantId}"` });
    for (const c of this.registry.clientList()) if (c.route?.id === tenantId) c.fail(err, err.reason);
    pool.closeAllServers('shutdown');
    for (const p of readers) p.closeAllServers('shutdown');
    this.log.warn({ tenant: tenantId }, 'admin KILL: tenant clients and server connections closed; paused until RESUME');
  }

  /** Admin RECONNECT: server connections close as they are released (idle ones now). */
  reconnect(tenantIds?: readonly string[]): void {
    if (tenantIds === undefined) {
      for (const pool of this.registry.allPools()) pool.retireAll();
      return;
    }
    for (const id of tenantIds) {
      this.registry.pool(id)?.retireAll();
      for (const p of this.readerPools(id)) p.retireAll();
    }
  }

  requestReload(): Promise<void> {
    return this.registry.requestReload();
  }

  close(): Promise<void> {
    return this.registry.close();
  }
}
