// What the admin commands need from the pooler. The Pooler implements it; keeping it an interface
// keeps the commands readable on their own and the Pooler class free of SHOW formatting.
import type { Socket } from 'node:net';
import type { Pool } from '../backend/pool.ts';
import type { ReadRouter } from '../backend/reader-router.ts';
import type { PoolerConfig } from '../config/schema.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { ClientConnection } from '../frontend/client.ts';
import type { TenantLatency } from '../stats/latency.ts';
import type { TenantTotals } from '../stats/totals.ts';
import type { Outcome } from './result.ts';

/** One logged-in admin console session, as SHOW CLIENTS lists it. */
export interface AdminSessionView {
  readonly id: number;
  readonly user: string;
  /** The admin database it asked for: `switchyard` or `pgbouncer`. */
  readonly database: string;
  readonly socket: Socket;
  readonly connectedAt: number;
  readonly lastRequestAt: number;
  readonly applicationName: string;
}

export interface AdminHost {
  readonly config: PoolerConfig;
  /** The PostgreSQL listener's port. */
  readonly port: number;
  readonly configVersion: number;
  /** The control plane's published config version applied last (local/aws sources); SHOW CONFIG. */
  readonly appliedConfigVersion: number | undefined;
  readonly draining: boolean;
  snapshot(): Snapshot;
  /** The tenant's pool, if one was created (pools appear on first login). */
  pool(tenantId: string): Pool | undefined;
  /** The read endpoints' routers, with their reader pools (admin/reader-pools.ts). */
  readRouterList?(): Iterable<ReadRouter>;
  clientList(): readonly ClientConnection[];
  adminSessionList(): readonly AdminSessionView[];
  tenantTotals(): Map<string, TenantTotals>;
  /** Per-second rates over the last stats period. */
  statsAverages(): ReadonlyMap<string, TenantTotals>;
  /** Transaction and query times and statement shapes per tenant id (SHOW STATEMENTS). */
  tenantLatency(): ReadonlyMap<string, TenantLatency>;
  isPaused(tenantId: string): boolean;
  /** Blocks new checkouts and resolves once the tenants' server connections are all closed. */
  pause(tenantIds?: readonly string[]): Promise<void>;
  resume(tenantIds?: readonly string[]): void;
  /** Disconnects the tenant's clients and server connections and leaves it paused. */
  kill(tenantId: string): void;
  /** Closes the tenants' server connections as they are released. */
  reconnect(tenantIds?: readonly string[]): void;
  /** Re-reads the configuration from its source (SIGHUP's path); absent = RELOAD is unavailable. */
  requestReload?(): Promise<void>;
  close(): Promise<void>;
  /**
   * Set when this pooler is one worker of several on the machine (`--workers N`): commands go
   * to the group, which runs them on every worker and merges the answers (admin/fan-out.ts).
   */
  readonly adminGroup?: AdminGroup | undefined;
}

/** The worker processes of one machine, as the console sees them (cluster/worker-admin.ts). */
export interface AdminGroup {
  /** Runs one console command on every worker (or locally, when it is about this process only). */
  run(query: string): Promise<Outcome>;
}
