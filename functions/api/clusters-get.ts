// GET /clusters/{id} — the cluster's view with its connection budget, its tenants' sizes and each
// pooler's share of the budget (functions/lib/budget-views.ts, docs/fleet.md).
import { clusterIdSchema } from '../../shared/src/domain/common.ts';
import { NotFoundError } from '../../shared/src/domain/errors.ts';
import { clusterLeasesView } from '../lib/budget-views.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { emptyQuerySchema, etag, parseRequest } from '../lib/schemas.ts';
import { clusterView } from '../lib/views.ts';

export async function getCluster(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const clusterId = parseRequest(clusterIdSchema, req.pathParameters.id, 'cluster id');
  req.log.setBindings({ clusterId });
  parseRequest(emptyQuerySchema, req.query, 'query');
  const cluster = await deps.adapters.clusters.get(clusterId);
  if (!cluster) throw new NotFoundError('cluster', clusterId);
  const [tenants, row] = await Promise.all([deps.adapters.tenants.listByCluster(clusterId), deps.adapters.budgets.read()]);
  return { status: 200, body: { ...clusterView(cluster), leases: clusterLeasesView(cluster, tenants, row, deps.now()) }, headers: { etag: etag(cluster.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, getCluster);
}

export const handler = makeHandler(defaultDeps);
