// What the API shows of the fleet budgets (docs/fleet.md): the budget leases row as each pooler's
// lease (GET /poolers), and a cluster's budget split into tenant allotments and pooler shares
// (GET /clusters/{id}). The shares are computed here exactly as the poolers compute them
// (shared/src/domain/budget.ts), from the stored tenants and the leases row.
import { z } from 'zod';
import { clusterBudgetOf, settled, shareOf, tenantAllotments, type BudgetLeases } from '../../shared/src/domain/budget.ts';
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
  /** Σ of the tenants' allotments: at most the budget. */
  allotted: z.number().int().nonnegative(),
  /** Each tenant's fleet-wide size and what it gets of the budget (scaled down when they ask for more). */
  tenants: z.array(z.object({ tenantId: tenantIdSchema, size: z.number().int().positive(), allotment: z.number().int().nonnegative() })),
  /** Each pooler's share of the budget (Σ of its shares of the tenants). */
  poolers: z.array(leaseViewSchema.extend({ share: z.number().int().nonnegative() })),
});
export type ClusterLeasesView = z.infer<typeof clusterLeasesViewSchema>;

export function clusterLeasesView(cluster: Cluster, tenants: readonly Tenant[], row: BudgetLeases | undefined, now: Date): ClusterLeasesView {
  const fleet = fleetLeasesView(row, now);
  const budget = clusterBudgetOf(cluster).budget;
  const inputs = tenants.map((t) => ({ tenantId: t.tenantId, clusterId: cluster.clusterId, size: t.pool.size }));
  const allot = tenantAllotments(inputs, new Map([[cluster.clusterId, budget]]));
  const n = fleet.leases.length;
  return {
    generation: fleet.generation,
    settled: fleet.settled,
    allotted: [...allot.values()].reduce((a, b) => a + b, 0),
    tenants: inputs.map((t) => ({ tenantId: t.tenantId, size: t.size, allotment: allot.get(t.tenantId) ?? 0 })),
    poolers: fleet.leases.map((l, rank) => ({ ...l, share: inputs.reduce((a, t) => a + shareOf(allot.get(t.tenantId) ?? 0, t.tenantId, rank, n), 0) })),
  };
}
