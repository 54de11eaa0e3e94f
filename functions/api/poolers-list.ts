// GET /poolers[?staleAfterSeconds=] — each pooler's applied config version and last heartbeat, and
// whether the fleet has converged on the current config version. A pooler silent for longer than
// staleAfterSeconds (default 300) is reported `stale` and left out of the fleet's verdict
// (shared/src/domain/fleet-convergence.ts, the same rule the StalePoolers alarm uses).
import { DEFAULT_STALE_AFTER_SECONDS, fleetConvergence } from '../../shared/src/domain/fleet-convergence.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { listPoolersQuerySchema, parseRequest } from '../lib/schemas.ts';
import { poolerView } from '../lib/views.ts';

export async function listPoolers(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const q = parseRequest(listPoolersQuerySchema, req.query, 'query');
  const [configVersion, heartbeats] = await Promise.all([deps.adapters.config.getConfigVersion(), deps.adapters.heartbeats.list()]);
  const fleet = fleetConvergence(heartbeats, configVersion, deps.now(), q.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS);
  const poolers = fleet.poolers
    .map((p) => poolerView(p.heartbeat, p.standing))
    .sort((a, b) => (a.poolerId < b.poolerId ? -1 : a.poolerId > b.poolerId ? 1 : 0));
  return { status: 200, body: { configVersion, converged: fleet.converged, poolers } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, listPoolers);
}

export const handler = makeHandler(defaultDeps);
