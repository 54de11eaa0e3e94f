// DELETE /tenants/{id}[?purge=true] — takes the tenant out of routing and removes it.
//   1. status → `deleting`, config version bumped, reload pushed: poolers close the tenant's
//      clients at their next transaction boundary and stop accepting new ones;
//   2. with purge=true only: drop the destination database (or, schema-per-tenant, the schema)
//      and the role on the cluster — unless another tenant still uses them;
//   3. the row is deleted, and that announced too (poolers forget the tenant).
// A purge that cannot start (no cluster, admin credentials or their secret unusable) is refused
// before step 1, so the tenant stays as it was. A failure in step 2 leaves the tenant `deleting`
// (still unrouted); repeating the DELETE resumes, announcing step 1 again.
// When step 1 is stored but cannot be announced (functions/lib/announce.ts, after bounded retries),
// poolers may still route the tenant: a purge is then refused with 503 CONFIG_NOT_PUBLISHED before
// it drops anything (repeat the DELETE); without purge the row is deleted and the 200 carries
// `warning: { code: "CONFIG_NOT_PUBLISHED" }` (poolers drop the tenant at the next published change).
// If-Match is optional; when given, a stale version is 409.
import { VersionConflictError } from '../../shared/src/domain/errors.ts';
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import type { Tenant } from '../../shared/src/domain/tenant.ts';
import { announceCommitted } from '../lib/announce.ts';
import { clusterAdminTarget } from '../lib/cluster-admin.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { HttpError, ProvisioningError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { sqlState, type PgTarget } from '../lib/pg-target.ts';
import { purgeTenant, type PurgeResult } from '../lib/provision.ts';
import { deleteTenantQuerySchema, expectedVersion, parseRequest, tenantIdParam } from '../lib/schemas.ts';
import { loadTenant } from '../lib/tenants.ts';

/** The tenant is stored as `deleting` but the poolers could not be told, so its data is not dropped yet. */
export class ConfigNotPublishedError extends HttpError {
  constructor(tenantId: string) {
    super(503, 'CONFIG_NOT_PUBLISHED', `tenant ${tenantId} is marked deleting, but poolers could not be told yet, so its data was not dropped; repeat the DELETE`);
  }
}

export class PurgeNeedsClusterError extends HttpError {
  constructor() {
    super(400, 'PURGE_NEEDS_CLUSTER', 'purge drops the database through the cluster admin; this tenant has a fixed-host destination');
  }
}

interface PurgeTarget {
  cluster: Cluster;
  admin: PgTarget;
}

/**
 * The cluster and its admin connection, resolved before anything changes: a purge that cannot run
 * (fixed-host destination, cluster gone, admin credentials unusable) leaves the tenant as it was.
 */
async function purgeTarget(deps: Deps, t: Tenant): Promise<PurgeTarget> {
  const clusterId = t.destination.clusterId;
  if (clusterId === undefined) throw new PurgeNeedsClusterError();
  const cluster = await deps.adapters.clusters.get(clusterId);
  if (!cluster) throw new HttpError(409, 'UNKNOWN_CLUSTER', `cluster ${clusterId} no longer exists`);
  return { cluster, admin: await clusterAdminTarget(deps.adapters, cluster) };
}

async function purge(deps: Deps, req: ApiRequest, t: Tenant, { cluster, admin }: PurgeTarget): Promise<PurgeResult> {
  const clusterId = cluster.clusterId;
  const others = (await deps.adapters.tenants.listByCluster(clusterId)).filter((o) => o.tenantId !== t.tenantId);
  const d = t.destination;
  const dropRole = !others.some((o) => o.destination.user === d.user);
  const dropData = !others.some((o) =>
    d.schema === undefined ? o.destination.database === d.database : o.destination.database === d.database && o.destination.schema === d.schema,
  );
  try {
    return await purgeTenant(deps.pg, admin, { tenantId: t.tenantId, role: d.user, database: d.database, schema: d.schema, dropRole, dropData });
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const state = sqlState(err);
    req.log.error({ clusterId, sqlState: state, errName: (err as Error).name }, 'purge failed');
    throw new ProvisioningError(`dropping the tenant's data on cluster ${clusterId} failed${state ? ` (SQLSTATE ${state})` : ''}; repeat the DELETE to resume`);
  }
}

export async function deleteTenant(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const tenantId = tenantIdParam(req.pathParameters.id);
  req.log.setBindings({ tenantId });
  const q = parseRequest(deleteTenantQuerySchema, req.query, 'query');
  const wantPurge = q.purge === 'true';
  let t = await loadTenant(deps.adapters, tenantId);
  const expected = expectedVersion(req.headers['if-match'], undefined);
  if (expected !== undefined && expected !== t.version) throw new VersionConflictError('tenant', tenantId, expected, t.version);

  const target = wantPurge ? await purgeTarget(deps, t) : undefined;
  if (t.status !== 'deleting') t = await deps.adapters.tenants.update(tenantId, t.version, { status: 'deleting' });
  // Also when resuming: the first attempt may have stored `deleting` without announcing it.
  const warning = await announceCommitted(deps.adapters, req.log);
  if (warning && target) throw new ConfigNotPublishedError(tenantId);
  let purged: PurgeResult | undefined;
  if (target) purged = await purge(deps, req, t, target);
  await deps.adapters.tenants.delete(tenantId, t.version);
  // 4. The removal announced too: else poolers keep the tenant as `deleting` (57P03, its pool in
  //    memory) until some unrelated change is published.
  const removedWarning = await announceCommitted(deps.adapters, req.log);
  req.log.info({ purge: wantPurge, ...purged }, 'tenant deleted');
  const anyWarning = warning ?? removedWarning;
  return { status: 200, body: { tenantId, deleted: true, purged: purged ?? null, ...(anyWarning ? { warning: anyWarning } : {}) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, deleteTenant);
}

export const handler = makeHandler(defaultDeps);
