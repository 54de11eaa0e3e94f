// DELETE /clusters/{id} — removes a cluster no tenant uses any more.
//   1. refused with 409 CLUSTER_IN_USE while any tenant (in any status, `deleting` too) names it as
//      its destination: delete or move those first;
//   2. its published targets are deleted (idempotent, retried): with no tenant on the cluster no
//      pooler routes through them, and a failure here leaves the cluster as it was (the reconcile
//      republishes targets of a cluster that still exists);
//   3. the row is deleted (under If-Match when given: a stale version is 409 VERSION_CONFLICT);
//   4. the config version is bumped (2xx with `warning` if that fails, functions/lib/announce.ts).
// A tenant created on the cluster between 1 and 3 would be left pointing at a missing cluster: the
// poolers skip such a tenant as not routable (their other tenants are unaffected) until it is
// deleted or the cluster registered again.
import { NotFoundError, VersionConflictError } from '../../shared/src/domain/errors.ts';
import { clusterIdSchema } from '../../shared/src/domain/common.ts';
import { announceCommitted, withRetries } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { HttpError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { expectedVersion, parseRequest } from '../lib/schemas.ts';

export class ClusterInUseError extends HttpError {
  constructor(clusterId: string, tenants: number) {
    super(409, 'CLUSTER_IN_USE', `cluster ${clusterId} is the destination of ${tenants} tenant(s); delete them or move them first`);
  }
}

export async function deleteCluster(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const clusterId = parseRequest(clusterIdSchema, req.pathParameters.id, 'cluster id');
  req.log.setBindings({ clusterId });
  const cluster = await deps.adapters.clusters.get(clusterId);
  if (!cluster) throw new NotFoundError('cluster', clusterId);
  const expected = expectedVersion(req.headers['if-match'], undefined);
  if (expected !== undefined && expected !== cluster.version) throw new VersionConflictError('cluster', clusterId, expected, cluster.version);

  const users = await deps.adapters.tenants.listByCluster(clusterId);
  if (users.length > 0) throw new ClusterInUseError(clusterId, users.length);

  await withRetries(() => deps.adapters.config.deleteClusterTargets(clusterId), req.log, 'deleting cluster targets');
  await deps.adapters.clusters.delete(clusterId, cluster.version);
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info('cluster deleted');
  return { status: 200, body: { clusterId, deleted: true, ...(warning ? { warning } : {}) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, deleteCluster);
}

export const handler = makeHandler(defaultDeps);
