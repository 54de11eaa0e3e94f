// Small tenant helpers shared by the /tenants handlers.
import { NotFoundError } from '../../shared/src/domain/errors.ts';
import type { Tenant } from '../../shared/src/domain/tenant.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { HttpError } from './http-errors.ts';

export async function loadTenant(adapters: Pick<Adapters, 'tenants'>, tenantId: string): Promise<Tenant> {
  const t = await adapters.tenants.get(tenantId);
  if (!t) throw new NotFoundError('tenant', tenantId);
  return t;
}

/** A tenant being deleted only accepts DELETE (to finish the deletion). */
export class TenantDeletingError extends HttpError {
  constructor(tenantId: string) {
    super(409, 'TENANT_DELETING', `tenant ${tenantId} is being deleted`);
  }
}

export function assertNotDeleting(t: Tenant): void {
  if (t.status === 'deleting') throw new TenantDeletingError(t.tenantId);
}

/** JSON with object keys sorted, for comparing settings regardless of key order. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}
