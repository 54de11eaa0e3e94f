// GET /tenants/{id}/statements — the tenant's heaviest statement shapes (normalized texts, no
// literals) over the live poolers, from their heartbeats (functions/lib/tenant-statements.ts;
// docs/admin.md "Statement shapes"). The API never asks a pooler: a pooler's figures are as of its
// last heartbeat (every 15 s by default).
import { DEFAULT_STALE_AFTER_SECONDS } from '../../shared/src/domain/fleet-convergence.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { emptyQuerySchema, parseRequest, tenantIdParam } from '../lib/schemas.ts';
import { mergeStatements } from '../lib/tenant-statements.ts';
import { loadTenant } from '../lib/tenants.ts';

export async function tenantStatements(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const tenantId = tenantIdParam(req.pathParameters.id);
  req.log.setBindings({ tenantId });
  parseRequest(emptyQuerySchema, req.query, 'query');
  await loadTenant(deps.adapters, tenantId);
  // Live poolers only: a pooler silent this long is gone (the StalePoolers rule, fleet-convergence.ts).
  const freshSince = deps.now().getTime() - DEFAULT_STALE_AFTER_SECONDS * 1000;
  const live = (await deps.adapters.heartbeats.list()).filter((h) => Date.parse(h.lastSeen) >= freshSince);
  return { status: 200, body: mergeStatements(tenantId, live) };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, tenantStatements);
}

export const handler = makeHandler(defaultDeps);
