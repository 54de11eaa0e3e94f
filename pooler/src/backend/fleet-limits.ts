// The limits the fleet budgets put on this pooler's pools (docs/fleet.md): per tenant, its share of
// the tenant's fleet-wide size (Pool.setLeaseSize), and per cluster, its share of the cluster's
// budget, shared by that cluster's pools (cluster-gate.ts). Set by the budget lease
// (config/sources/budget-lease.ts); the pooler attaches each pool it creates and hands over the
// pools it closes, whose connections still count until they are gone.
import type { Pool } from './pool.ts';
import { ClusterGate } from './cluster-gate.ts';
import { demandKey } from '../../../shared/src/domain/budget.ts';

export interface Shares {
  tenants: ReadonlyMap<string, number>;
  clusters: ReadonlyMap<string, number>;
}

export class FleetLimits {
  #shares: Shares = { tenants: new Map(), clusters: new Map() };
  #clusterOf: (tenantId: string) => string | undefined;
  /** Live pools, and closed ones until their last connection is gone. */
  readonly #pools = new Set<Pool>();
  readonly #gates = new Map<string, ClusterGate>();

  constructor(clusterOf: (tenantId: string) => string | undefined) {
    this.#clusterOf = clusterOf;
  }

  get shares(): Shares {
    return this.#shares;
  }

  /** Called when a pool is created for a tenant the shares do not name yet (a tenant just added): lease now. */
  onUnknownTenant: (() => void) | undefined;

  /** Called when a client queues because a share is used up, with the shares' demand keys (the lease may borrow: docs/fleet.md). */
  onStarved: ((keys: string[]) => void) | undefined;

  /** A new pool starts within the current shares (0 before the first lease, or for a tenant they do not name yet). */
  attach(pool: Pool): void {
    this.#pools.add(pool);
    pool.onLeaseStarved = (tenant, cluster) => {
      const keys = tenant ? [demandKey('tenant', pool.tenantId)] : [];
      if (cluster && pool.gate !== undefined) keys.push(demandKey('cluster', pool.gate.clusterId));
      this.onStarved?.(keys);
    };
    this.#place(pool, false);
    if (!this.#shares.tenants.has(pool.tenantId)) this.onUnknownTenant?.();
  }

  /** Applies new shares to every pool and gate; lowering closes idle connections now (busy ones too with `force`). */
  apply(shares: Shares, force = false): void {
    this.#shares = shares;
    for (const [id, gate] of this.#gates) gate.setLimit(shares.clusters.get(id) ?? 0);
    for (const pool of this.#pools) this.#place(pool, force);
  }

  /** Server connections counted against each share (open, opening, closing). */
  usages(): { tenants: Map<string, number>; clusters: Map<string, number> } {
    const tenants = new Map<string, number>();
    const clusters = new Map<string, number>();
    for (const pool of this.#pools) {
      const n = pool.leaseUsage;
      if (n === 0 && pool.isClosed) {
        this.#pools.delete(pool);
        pool.gate?.remove(pool);
        continue;
      }
      tenants.set(pool.tenantId, (tenants.get(pool.tenantId) ?? 0) + n);
      const c = pool.gate?.clusterId;
      if (c !== undefined) clusters.set(c, (clusters.get(c) ?? 0) + n);
    }
    return { tenants, clusters };
  }

  /**
   * What each share is asked for now: busy server connections, queued clients and logins (Pool.leaseDemand), per
   * tenant and per cluster. More than a share: the lease asks to borrow; nothing for a while: it lends.
   */
  loads(): { tenants: Map<string, number>; clusters: Map<string, number> } {
    const tenants = new Map<string, number>();
    const clusters = new Map<string, number>();
    for (const pool of this.#pools) {
      if (pool.isClosed) continue;
      const n = pool.leaseDemand;
      tenants.set(pool.tenantId, (tenants.get(pool.tenantId) ?? 0) + n);
      const c = pool.gate?.clusterId;
      if (c !== undefined) clusters.set(c, (clusters.get(c) ?? 0) + n);
    }
    return { tenants, clusters };
  }

  #place(pool: Pool, force: boolean): void {
    const clusterId = this.#clusterOf(pool.tenantId);
    const moved = pool.gate?.clusterId !== clusterId;
    if (moved) {
      // A tenant moved to another cluster: its pool counts there from now on.
      pool.gate?.remove(pool);
      pool.gate = clusterId === undefined ? undefined : this.#gate(clusterId);
      pool.gate?.add(pool);
    }
    pool.setLeaseSize(pool.isClosed ? 0 : (this.#shares.tenants.get(pool.tenantId) ?? 0), force);
    // Clients it queued at the old cluster's gate are nobody's to wake there any more: try the new one.
    if (moved) pool.kick();
  }

  #gate(clusterId: string): ClusterGate {
    let g = this.#gates.get(clusterId);
    if (g === undefined) {
      g = new ClusterGate(clusterId);
      g.setLimit(this.#shares.clusters.get(clusterId) ?? 0);
      this.#gates.set(clusterId, g);
    }
    return g;
  }
}
