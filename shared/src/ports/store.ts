// Persistence ports. AWS: one DynamoDB table (shared/src/aws/dynamo-store.ts); local: JSON files
// (shared/src/local/file-store.ts). Both give the same guarantees:
// - create fails with ConflictError if the id exists ('exists') or the client (database, user)
//   pair belongs to another tenant ('login-taken'); the pair is guarded atomically with the row;
// - update/delete with `expectedVersion` fail with VersionConflictError unless the stored version
//   matches, NotFoundError if the row is gone; every successful update bumps `version` by one;
// - input is validated with the domain schemas (ValidationError).
import type { BudgetLeases } from '../domain/budget.ts';
import type { Cluster, ClusterPatch, NewClusterInput } from '../domain/cluster.ts';
import type { PoolerHeartbeat, PoolerHeartbeatInput } from '../domain/heartbeat.ts';
import type { NodeLease } from '../domain/node-lease.ts';
import type { NewTenantInput, Tenant, TenantPatch } from '../domain/tenant.ts';

export interface CreateOptions {
  /**
   * Makes a retried create safe: a create with a key already used for the SAME tenantId returns
   * that stored tenant (as it is now) instead of failing; with a different tenantId it fails with
   * ConflictError('idempotency-key-reused'). Keys are kept for 24 hours.
   */
  idempotencyKey?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  cursor?: string;
}

export interface ListOptions {
  /** Maximum items in the page (default 100, at most 1000). */
  limit?: number;
  cursor?: string;
}

export interface TenantStore {
  create(tenant: NewTenantInput, opts?: CreateOptions): Promise<Tenant>;
  /** undefined when there is no such tenant. */
  get(tenantId: string): Promise<Tenant | undefined>;
  /** All tenants in pages; order is unspecified but stable across pages. A bad cursor → ValidationError. */
  list(opts?: ListOptions): Promise<Page<Tenant>>;
  /** Every tenant whose destination is this cluster (through the `byCluster` index on AWS). */
  listByCluster(clusterId: string): Promise<Tenant[]>;
  /** Replaces the fields given in `patch`; moves the login guard when `client` changes. */
  update(tenantId: string, expectedVersion: number, patch: TenantPatch): Promise<Tenant>;
  /** Removes the tenant and its login guard. Without expectedVersion, deletes whatever version is stored. */
  delete(tenantId: string, expectedVersion?: number): Promise<void>;
}

export interface ClusterStore {
  /** ConflictError('exists') if the clusterId is taken. */
  create(cluster: NewClusterInput): Promise<Cluster>;
  get(clusterId: string): Promise<Cluster | undefined>;
  /** All clusters (there are few). */
  list(): Promise<Cluster[]>;
  update(clusterId: string, expectedVersion: number, patch: ClusterPatch): Promise<Cluster>;
  delete(clusterId: string, expectedVersion?: number): Promise<void>;
}

export interface HeartbeatStore {
  /** Upserts the pooler's heartbeat (last writer wins). */
  put(heartbeat: PoolerHeartbeatInput): Promise<PoolerHeartbeat>;
  get(poolerId: string): Promise<PoolerHeartbeat | undefined>;
  /** Every pooler's last heartbeat; callers judge staleness by `lastSeen`. */
  list(): Promise<PoolerHeartbeat[]>;
}

/**
 * Cancel-key node id leases (shared/src/domain/node-lease.ts). A lease row per node id; writes are
 * conditional, so two poolers can never both hold a live lease on one id.
 */
export interface NodeLeaseStore {
  /**
   * Writes `lease` if its node id is free: no row, an expired row (expiresAtMs <= now), or a row
   * of the same holder (a renewal). Resolves false, writing nothing, when another holder's lease
   * is live at `now`.
   */
  claim(lease: NodeLease, now: number): Promise<boolean>;
  /** Ends the lease at once if `holder` still has it (shutdown); otherwise does nothing. */
  release(nodeId: number, holder: string): Promise<void>;
  /** Every lease row, live or expired, by node id; callers judge liveness by expiresAtMs. */
  list(): Promise<NodeLease[]>;
}

/**
 * The fleet's budget leases: one row (shared/src/domain/budget.ts), written compare-and-set on its
 * version, so every change of it is seen whole by every pooler.
 */
export interface BudgetLeaseStore {
  /** The row, consistently read (a write just made anywhere shows); undefined before the first. */
  read(): Promise<BudgetLeases | undefined>;
  /**
   * Writes `next` if the stored row's version is `next.version - 1` (no row when next.version is
   * 1). Resolves false, writing nothing, otherwise.
   */
  write(next: BudgetLeases): Promise<boolean>;
}
