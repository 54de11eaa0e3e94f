// GET /tenants?limit=&cursor= — one page of tenants (views only: no verifier, no ciphertext).
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { listTenantsQuerySchema, parseRequest } from '../lib/schemas.ts';
import { tenantView } from '../lib/views.ts';

export async function listTenants(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const q = parseRequest(listTenantsQuerySchema, req.query, 'query');
  const page = await deps.adapters.tenants.list({ ...(q.limit !== undefined ? { limit: q.limit } : {}), ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) });
  const body: { items: ReturnType<typeof tenantView>[]; cursor?: string } = { items: page.items.map(tenantView) };
  if (page.cursor !== undefined) body.cursor = page.cursor;
  return { status: 200, body };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, listTenants);
}

export const handler = makeHandler(defaultDeps);
