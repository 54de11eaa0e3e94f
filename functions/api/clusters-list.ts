// GET /clusters — every cluster (there are few): writer, readers, epoch; never admin secrets.
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { emptyQuerySchema, parseRequest } from '../lib/schemas.ts';
import { clusterView } from '../lib/views.ts';

export async function listClusters(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  parseRequest(emptyQuerySchema, req.query, 'query');
  const clusters = await deps.adapters.clusters.list();
  clusters.sort((a, b) => (a.clusterId < b.clusterId ? -1 : a.clusterId > b.clusterId ? 1 : 0));
  return { status: 200, body: { items: clusters.map(clusterView) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, listClusters);
}

export const handler = makeHandler(defaultDeps);
