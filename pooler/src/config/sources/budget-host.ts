// Wires a BudgetLease (budget-lease.ts) to a running pooler and its local/AWS source: the tenants
// served with their fleet-wide size and cluster, the clusters' budgets from the last load, and the
// pools' limits and usage. Off for the file source, for `--workers` (each worker's sizes are
// already a split of the machine's: docs/workers.md) and with `fleet_budgets.enabled: false`.
import type { BudgetTenant } from '../../../../shared/src/domain/budget.ts';
import type { Logger } from '../../log.ts';
import type { Pooler } from '../../pooler.ts';
import { FleetLimits } from '../../backend/fleet-limits.ts';
import { BudgetLease } from './budget-lease.ts';
import type { ConfigSource } from './types.ts';

/** Starts the lease (limits 0 at once, the first tick in the background); undefined when off. */
export function startBudgetLease(pooler: Pooler, source: ConfigSource, poolerId: string, log: Logger): BudgetLease | undefined {
  const settings = pooler.config.fleet_budgets;
  if (!settings.enabled || source.budgetLeases === undefined || source.budgetInputs === undefined) return undefined;
  const inputs = source.budgetInputs.bind(source);
  // Before the first lease: limits 0 (every pool created from here on is attached).
  const limits = new FleetLimits((tenantId) => inputs().clusterOf.get(tenantId));
  pooler.fleetLimits = limits;
  const lease = new BudgetLease({
    store: source.budgetLeases,
    poolerId,
    ttlMs: settings.lease_ttl * 1000,
    log: log.child({ component: 'budget-lease' }),
    host: {
      tenants: (): BudgetTenant[] => {
        const { clusterOf } = inputs();
        return [...pooler.snapshot().byId.values()].map((r) => ({ tenantId: r.id, clusterId: clusterOf.get(r.id), size: r.pool.size }));
      },
      clusterBudgets: () => inputs().clusterBudgets,
      setLeaseSizes: (shares, force) => limits.apply(shares, force),
      leaseUsages: () => limits.usages(),
      loads: () => limits.loads(),
    },
  });
  // A tenant added since the last tick gets its shares at the next one: run it now.
  limits.onUnknownTenant = () => void lease.tick().catch(() => undefined);
  // A client queued on a used-up share: ask to borrow now rather than at the next renewal.
  limits.onStarved = (keys) => lease.soon(keys);
  void lease.start();
  return lease;
}
