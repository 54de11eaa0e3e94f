// What the API shows of the fleet budgets (docs/fleet.md): the budget leases row as each pooler's
// lease (GET /poolers), and a cluster's budget, its tenants' sizes and each pooler's share of it
// (GET /clusters/{id}). The shares are computed here exactly as the poolers compute them
// (shared/src/domain/budget.ts), from the leases row.
import { z } from 'zod';
import { clusterBudgetOf, demandKey, memberShareOf, settled, type BudgetLeases } from '../../shared/src/domain/budget.ts';
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { isoTimestampSchema, tenantIdSchema } from '../../shared/src/domain/common.ts';
import type { Tenant } from '../../shared/src/domain/tenant.ts';

export const leaseViewSchema = z.object({
  poolerId: z.string(),
  /** The lease ends then unless renewed; the pooler stops using connections a quarter ttl before. */
  expiresAt: isoTimestampSchema,
  live: z.boolean(),
  /** The pooler keeps to its shares of the current generation. */
  inEffect: z.boolean(),
});
export type LeaseView = z.infer<typeof leaseViewSchema>;

export const fleetLeasesViewSchema = z.object({
  /** Grows with every join, leave and expiry. */
  generation: z.number().int().nonnegative(),
  /** Every pooler keeps to its shares of this generation (else a rebalance is under way). */
  settled: z.boolean(),
  /** In join order: the order the budgets are split in. */
  leases: z.array(leaseViewSchema),
});
export type FleetLeasesView = z.infer<typeof fleetLeasesViewSchema>;

export function fleetLeasesView(row: BudgetLeases | undefined, now: Date): FleetLeasesView {
  if (row === undefined) return { generation: 0, settled: true, leases: [] };
  return {
    generation: row.generation,
    settled: settled(row),
    leases: row.members.map((m) => ({ poolerId: m.poolerId, expiresAt: new Date(m.expiresAtMs).toISOString(), live: m.expiresAtMs > now.getTime(), inEffect: m.ack === row.generation })),
  };
}

export const clusterLeasesViewSchema = z.object({
  generation: z.number().int().nonnegative(),
  settled: z.boolean(),
  /** Σ of the tenants' fleet-wide sizes: may exceed the budget, which they then share on demand. */
  asked: z.number().int().nonnegative(),
  /** Each tenant's fleet-wide size (pool.size). */
  tenants: z.array(z.object({ tenantId: tenantIdSchema, size: z.number().int().positive() })),
  /** Each pooler's share of the budget (shared by the cluster's tenants on that pooler), idle poolers' lent shares moved. */
  poolers: z.array(leaseViewSchema.extend({ share: z.number().int().nonnegative() })),
});
export type ClusterLeasesView = z.infer<typeof clusterLeasesViewSchema>;

export function clusterLeasesView(cluster: Cluster, tenants: readonly Tenant[], row: BudgetLeases | undefined, now: Date): ClusterLeasesView {
  const fleet = fleetLeasesView(row, now);
  const budget = clusterBudgetOf(cluster).budget;
  const members = row?.members ?? [];
  return {
    generation: fleet.generation,
    settled: fleet.settled,
    asked: tenants.reduce((a, t) => a + t.pool.size, 0),
    tenants: tenants.map((t) => ({ tenantId: t.tenantId, size: t.pool.size })),
    poolers: fleet.leases.map((l, rank) => ({ ...l, share: memberShareOf(budget, cluster.clusterId, demandKey('cluster', cluster.clusterId), members, rank) })),
  };
}
