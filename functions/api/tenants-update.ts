// PATCH /tenants/{id} — pool settings and suspend/resume, under an optimistic lock: the caller
// names the version it read (If-Match: "<version>" or body `version`); a stale version is 409
// VERSION_CONFLICT, none at all is 428 (RFC 6585 §3). Then the config version is bumped and a
// reload pushed, so poolers apply the new settings (suspended tenants' clients are closed at their
// next transaction boundary).
import { VersionConflictError } from '../../shared/src/domain/errors.ts';
import { poolSettingsSchema, type PoolSettings, type TenantPatch } from '../../shared/src/domain/tenant.ts';
import { announceCommitted } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { InvalidRequestError, PreconditionRequiredError } from '../lib/http-errors.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { etag, expectedVersion, parseRequest, tenantIdParam, updateTenantRequestSchema, type PoolPatch } from '../lib/schemas.ts';
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
  if (Object.keys(patch).length === 0) throw new InvalidRequestError('nothing to update: give pool and/or status');

  const updated = await deps.adapters.tenants.update(tenantId, expected, patch);
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info({ version: updated.version, status: updated.status }, 'tenant updated');
  return { status: 200, body: { ...tenantView(updated), ...(warning ? { warning } : {}) }, headers: { etag: etag(updated.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, updateTenant);
}

export const handler = makeHandler(defaultDeps);
