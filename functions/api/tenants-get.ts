// GET /tenants/{id} — the tenant's view (never a secret, verifier or ciphertext) and its ETag.
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { emptyQuerySchema, etag, parseRequest, tenantIdParam } from '../lib/schemas.ts';
import { loadTenant } from '../lib/tenants.ts';
import { tenantView } from '../lib/views.ts';

export async function getTenant(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const tenantId = tenantIdParam(req.pathParameters.id);
  req.log.setBindings({ tenantId });
  parseRequest(emptyQuerySchema, req.query, 'query');
  const t = await loadTenant(deps.adapters, tenantId);
  return { status: 200, body: tenantView(t), headers: { etag: etag(t.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, getTenant);
}

export const handler = makeHandler(defaultDeps);
