// GET /poolers[?staleAfterSeconds=] — each pooler's applied config version and last heartbeat, and
// whether the fleet has converged on the current config version. A pooler silent for longer than
// staleAfterSeconds (default 300) is reported `stale` and left out of the fleet's verdict
// (shared/src/domain/fleet-convergence.ts, the same rule the StalePoolers alarm uses).
// Each pooler's fleet budget lease and its health (docs/fleet.md) come from the budget leases row;
// `budgets` lists every lease, also of poolers that have not sent a heartbeat yet.
import { DEFAULT_STALE_AFTER_SECONDS, fleetConvergence } from '../../shared/src/domain/fleet-convergence.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { listPoolersQuerySchema, parseRequest } from '../lib/schemas.ts';
import { fleetLeasesView, type FleetLeasesView } from '../lib/budget-views.ts';
import { poolerView, type PoolerView } from '../lib/views.ts';

/**
 * The pooler's live lease (the last one of its id: a restarted pooler re-joins under a new holder)
 * and its health: `stale` (no heartbeat for staleAfterSeconds), `no-lease` (other poolers hold
 * budget leases, this one none: it uses no server connections), `rebalancing` (its shares of the
 * current generation are not in effect yet) or `ok`.
 */
function withLease(v: PoolerView, budgets: FleetLeasesView): PoolerView {
  const lease = budgets.leases.filter((l) => l.poolerId === v.poolerId && l.live).at(-1);
  const health = v.stale ? 'stale' : lease === undefined ? (budgets.leases.some((l) => l.live) ? 'no-lease' : 'ok') : lease.inEffect ? 'ok' : 'rebalancing';
  return { ...v, ...(lease ? { lease: { expiresAt: lease.expiresAt, inEffect: lease.inEffect } } : {}), health };
}

export async function listPoolers(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const q = parseRequest(listPoolersQuerySchema, req.query, 'query');
  const [configVersion, heartbeats, row] = await Promise.all([deps.adapters.config.getConfigVersion(), deps.adapters.heartbeats.list(), deps.adapters.budgets.read()]);
  const now = deps.now();
  const fleet = fleetConvergence(heartbeats, configVersion, now, q.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS);
  const budgets = fleetLeasesView(row, now);
  const poolers = fleet.poolers
    .map((p) => withLease(poolerView(p.heartbeat, p.standing), budgets))
    .sort((a, b) => (a.poolerId < b.poolerId ? -1 : a.poolerId > b.poolerId ? 1 : 0));
  return { status: 200, body: { configVersion, converged: fleet.converged, budgets, poolers } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, listPoolers);
}

export const handler = makeHandler(defaultDeps);
