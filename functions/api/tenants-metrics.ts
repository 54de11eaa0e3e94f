// GET /tenants/{id}/metrics — the target's view (database size, the destination role's sessions)
// and the poolers' view (per-pooler pool figures from their heartbeats, and their sum). The target
// is queried in the destination database, as the cluster admin when the cluster has one this
// deployment can use (sees every session; a Secrets Manager admin secret is read for it, and a
// secret that cannot be read is an error, not a silent downgrade), else as the tenant's
// destination role.
import type { PoolFigures } from '../../shared/src/domain/heartbeat.ts';
import { tenantSecretContext, type Tenant } from '../../shared/src/domain/tenant.ts';
import { clusterAdminTarget, hasUsableAdmin } from '../lib/cluster-admin.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { HttpError, TargetUnavailableError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { sqlState, withSession, type PgTarget } from '../lib/pg-target.ts';
import { emptyQuerySchema, parseRequest, tenantIdParam } from '../lib/schemas.ts';
import { readTargetMetrics } from '../lib/target-metrics.ts';
import { loadTenant } from '../lib/tenants.ts';
import type { TenantMetrics } from '../lib/views.ts';

/** Heartbeats older than this are from poolers that are gone; their figures are not current. */
export const FRESH_HEARTBEAT_SECONDS = 300;

async function targetOf(deps: Deps, t: Tenant): Promise<PgTarget> {
  const d = t.destination;
  if (d.clusterId !== undefined) {
    const cluster = await deps.adapters.clusters.get(d.clusterId);
    if (!cluster) throw new HttpError(409, 'UNKNOWN_CLUSTER', `cluster ${d.clusterId} no longer exists`);
    if (hasUsableAdmin(deps.adapters, cluster)) return clusterAdminTarget(deps.adapters, cluster, d.database);
    const password = await deps.adapters.secrets.decrypt(d.passwordCiphertext, tenantSecretContext(t.tenantId, d));
    return { host: cluster.writer.host, port: cluster.writer.port, database: d.database, user: d.user, password };
  }
  const password = await deps.adapters.secrets.decrypt(d.passwordCiphertext, tenantSecretContext(t.tenantId, d));
  return { host: d.host ?? 'localhost', port: d.port ?? 5432, database: d.database, user: d.user, password };
}

export async function tenantMetrics(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const tenantId = tenantIdParam(req.pathParameters.id);
  req.log.setBindings({ tenantId });
  parseRequest(emptyQuerySchema, req.query, 'query');
  const t = await loadTenant(deps.adapters, tenantId);

  const target = await targetOf(deps, t);
  let figures;
  try {
    figures = await withSession(deps.pg, target, (s) => readTargetMetrics(s, { database: t.destination.database, user: t.destination.user, schema: t.destination.schema }));
  } catch (err) {
    const state = sqlState(err);
    req.log.warn({ sqlState: state, errName: (err as Error).name }, 'target metrics unavailable');
    throw new TargetUnavailableError(`cannot read metrics from the tenant's database${state ? ` (SQLSTATE ${state})` : ''}`);
  }

  const freshSince = deps.now().getTime() - FRESH_HEARTBEAT_SECONDS * 1000;
  const total: PoolFigures = { clientsActive: 0, clientsWaiting: 0, serversActive: 0, serversIdle: 0 };
  const poolers: TenantMetrics['pools']['poolers'] = [];
  for (const h of await deps.adapters.heartbeats.list()) {
    const f = Object.hasOwn(h.pools, tenantId) ? h.pools[tenantId] : undefined;
    if (!f || Date.parse(h.lastSeen) < freshSince) continue;
    poolers.push({ poolerId: h.poolerId, lastSeen: h.lastSeen, figures: { ...f } });
    total.clientsActive += f.clientsActive;
    total.clientsWaiting += f.clientsWaiting;
    total.serversActive += f.serversActive;
    total.serversIdle += f.serversIdle;
  }
  const body: TenantMetrics = { tenantId, target: figures, pools: { total, poolers } };
  return { status: 200, body };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, tenantMetrics);
}

export const handler = makeHandler(defaultDeps);
