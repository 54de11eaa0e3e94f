// PATCH /clusters/{id} — sets the cluster's connection budget figures (docs/fleet.md):
// `maxConnections` (the server's max_connections, the budget's basis) and/or `connectionBudget`
// (an explicit budget); null sets one back to its default. Under an optimistic lock (If-Match or
// `version`, optional). The config version is bumped so the poolers load the new budget; until
// every pooler has applied it (GET /poolers), a LOWERED budget may still be exceeded up to the old.
import { clusterIdSchema } from '../../shared/src/domain/common.ts';
import { NotFoundError, VersionConflictError } from '../../shared/src/domain/errors.ts';
import type { ClusterPatch } from '../../shared/src/domain/cluster.ts';
import { announceCommitted } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { etag, expectedVersion, parseRequest, updateClusterRequestSchema } from '../lib/schemas.ts';
import { clusterView } from '../lib/views.ts';

export async function updateCluster(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const clusterId = parseRequest(clusterIdSchema, req.pathParameters.id, 'cluster id');
  req.log.setBindings({ clusterId });
  const body = parseRequest(updateClusterRequestSchema, req.body, 'cluster update');
  const cluster = await deps.adapters.clusters.get(clusterId);
  if (!cluster) throw new NotFoundError('cluster', clusterId);
  const expected = expectedVersion(req.headers['if-match'], body.version) ?? cluster.version;
  if (expected !== cluster.version) throw new VersionConflictError('cluster', clusterId, expected, cluster.version);
  const patch: ClusterPatch = {};
  if (body.maxConnections !== undefined) patch.maxConnections = body.maxConnections;
  if (body.connectionBudget !== undefined) patch.connectionBudget = body.connectionBudget;
  const updated = await deps.adapters.clusters.update(clusterId, expected, patch);
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info({ version: updated.version, budget: clusterView(updated).budget }, 'cluster budget updated');
  return { status: 200, body: { ...clusterView(updated), ...(warning ? { warning } : {}) }, headers: { etag: etag(updated.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, updateCluster);
}

export const handler = makeHandler(defaultDeps);
