// The StalePoolers metric behind the stacks' stale-pooler alarm (stacks/Monitoring.ts): how many
// poolers are alive (heartbeat within DEFAULT_STALE_AFTER_SECONDS) yet report a config version
// other than the fleet's current one — a push and the poll both failing for them. "Stale" here is
// the alarm's word for "lagging"; GET /poolers calls the silent ones stale. Both come from one rule,
// shared/src/domain/fleet-convergence.ts. Published by every reconcile run, zero included, because
// the alarm treats a missing datapoint as breaching (a reconcile that does not report is a fleet
// nobody watches).
import { fleetConvergence } from '../../shared/src/domain/fleet-convergence.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { emfLine } from '../lib/emf.ts';

/**
 * Namespace, name and dimension of the metric. Must equal stacks/contract.ts STALE_POOLERS_METRIC
 * (functions/ may not import stacks/; test/stacks-contract-matches-functions.test.ts compares them).
 */
export const STALE_POOLERS_METRIC = { namespace: 'Switchyard', name: 'StalePoolers', dimension: 'Stage' } as const;

/** Live poolers that have not applied the current config version. */
export async function countStalePoolers(adapters: Pick<Adapters, 'config' | 'heartbeats'>, now: Date): Promise<number> {
  const [configVersion, heartbeats] = await Promise.all([adapters.config.getConfigVersion(), adapters.heartbeats.list()]);
  return fleetConvergence(heartbeats, configVersion, now).lagging;
}

/** The EMF log line that publishes `count` for `stage`. */
export function stalePoolersEmf(stage: string, count: number, now: Date): string {
  return emfLine({
    namespace: STALE_POOLERS_METRIC.namespace,
    dimensions: { [STALE_POOLERS_METRIC.dimension]: stage },
    metrics: [{ name: STALE_POOLERS_METRIC.name, value: count, unit: 'Count' }],
    timestamp: now,
  });
}
