// PATCH /tenants/{id} — pool settings, suspend/resume and the destination (moving the tenant to
// another cluster, host, database or role, or changing its destination password), under an
// optimistic lock: the caller names the version it read (If-Match: "<version>" or body `version`);
// a stale version is 409 VERSION_CONFLICT, none at all is 428 (RFC 6585 §3). Then the config
// version is bumped and a reload pushed, so poolers apply the change: suspended tenants' clients
// are closed at their next transaction boundary; a moved tenant's idle server connections close at
// once and busy ones when their transaction (session mode: session) ends, and new transactions go
// to the new destination (functions/lib/destination-change.ts, docs/deploy.md "Moving a tenant").
import { VersionConflictError } from '../../shared/src/domain/errors.ts';
import { readEndpointSchema, readLoginProblem, type ReadEndpoint } from '../../shared/src/domain/read-endpoint.ts';
import { poolSettingsSchema, type PoolSettings, type Tenant, type TenantPatch } from '../../shared/src/domain/tenant.ts';
import { announceCommitted } from '../lib/announce.ts';
import { changeDestination } from '../lib/destination-change.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { InvalidRequestError, PreconditionRequiredError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { etag, expectedVersion, parseRequest, tenantIdParam, updateTenantRequestSchema, type PoolPatch, type ReadEndpointPatch } from '../lib/schemas.ts';
import { assertNotDeleting, loadTenant } from '../lib/tenants.ts';
import { tenantView } from '../lib/views.ts';

/** The current settings with the patch applied (null clears an optional timeout), validated whole. */
export function mergePool(current: PoolSettings, patch: PoolPatch): PoolSettings {
  const merged: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else if (v !== undefined) merged[k] = v;
  }
  return parseRequest(poolSettingsSchema, merged, 'pool settings');
}

/** The stored read endpoint (off when absent) with the patch applied; the read login must be a PostgreSQL name. */
export function mergeReadEndpoint(current: Pick<Tenant, 'client' | 'readEndpoint'>, patch: ReadEndpointPatch): ReadEndpoint {
  const merged = parseRequest(
    readEndpointSchema,
    { enabled: patch.enabled ?? current.readEndpoint?.enabled ?? false, maxReplicaLagMs: patch.maxReplicaLagMs ?? current.readEndpoint?.maxReplicaLagMs },
    'read endpoint',
  );
  const problem = merged.enabled ? readLoginProblem(current.client) : undefined;
  if (problem !== undefined) throw new InvalidRequestError(`invalid tenant update: readEndpoint: ${problem}`, [{ path: 'readEndpoint', message: problem }]);
  return merged;
}

export async function updateTenant(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const tenantId = tenantIdParam(req.pathParameters.id);
  req.log.setBindings({ tenantId });
  const body = parseRequest(updateTenantRequestSchema, req.body, 'tenant update');
  const expected = expectedVersion(req.headers['if-match'], body.version);
  if (expected === undefined) throw new PreconditionRequiredError('send the version you read, as If-Match: "<version>" or as body field `version`');
  const current = await loadTenant(deps.adapters, tenantId);
  if (current.version !== expected) throw new VersionConflictError('tenant', tenantId, expected, current.version);
  assertNotDeleting(current);

  const patch: TenantPatch = {};
  if (body.pool !== undefined) patch.pool = mergePool(current.pool, body.pool);
  if (body.status !== undefined) patch.status = body.status;
  if (body.readEndpoint !== undefined) patch.readEndpoint = mergeReadEndpoint(current, body.readEndpoint);
  let move: { moved: boolean; reEncrypted: boolean } | undefined;
  if (body.destination !== undefined) {
    const changed = await changeDestination(deps.adapters, current, body.destination);
    patch.destination = changed.destination;
    move = { moved: changed.moved, reEncrypted: changed.reEncrypted };
  }
  if (Object.keys(patch).length === 0) throw new InvalidRequestError('nothing to update: give pool, status, destination and/or readEndpoint');

  const updated = await deps.adapters.tenants.update(tenantId, expected, patch);
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info(
    { version: updated.version, status: updated.status, ...(move ? { destinationMoved: move.moved, passwordReEncrypted: move.reEncrypted, clusterId: updated.destination.clusterId } : {}) },
    'tenant updated',
  );
  return { status: 200, body: { ...tenantView(updated), ...(warning ? { warning } : {}) }, headers: { etag: etag(updated.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, updateTenant);
}

export const handler = makeHandler(defaultDeps);
