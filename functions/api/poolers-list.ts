// GET /poolers[?staleAfterSeconds=] — each pooler's applied config version and last heartbeat, and
// whether the fleet has converged on the current config version. A pooler silent for longer than
// staleAfterSeconds (default 300) is reported `stale` and left out of the fleet's verdict: an
// instance the Auto Scaling group replaced leaves its last heartbeat behind and would otherwise
// keep the fleet "unconverged" forever.
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { listPoolersQuerySchema, parseRequest } from '../lib/schemas.ts';
import { poolerView } from '../lib/views.ts';

export const DEFAULT_STALE_AFTER_SECONDS = 300;

export async function listPoolers(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const q = parseRequest(listPoolersQuerySchema, req.query, 'query');
  const staleAfter = (q.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS) * 1000;
  const [configVersion, heartbeats] = await Promise.all([deps.adapters.config.getConfigVersion(), deps.adapters.heartbeats.list()]);
  const now = deps.now().getTime();
  const poolers = heartbeats
    .map((h) => poolerView(h, configVersion, now - Date.parse(h.lastSeen) > staleAfter))
    .sort((a, b) => (a.poolerId < b.poolerId ? -1 : a.poolerId > b.poolerId ? 1 : 0));
  const converged = poolers.filter((p) => !p.stale).every((p) => p.converged);
  return { status: 200, body: { configVersion, converged, poolers } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, listPoolers);
}

export const handler = makeHandler(defaultDeps);
