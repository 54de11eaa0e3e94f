// Pure construction of stored records from store inputs, shared by every TenantStore /
// ClusterStore adapter so they agree on defaults, versioning and timestamps.
import { clusterPatchSchema, clusterSchema, newClusterSchema, type Cluster, type ClusterPatch, type NewClusterInput } from './cluster.ts';
import { ValidationError } from './errors.ts';
import { parseOrThrow } from './parse.ts';
import { invalidTextIn } from './text.ts';
import { newTenantSchema, tenantPatchSchema, tenantSchema, type NewTenantInput, type Tenant, type TenantPatch } from './tenant.ts';

/**
 * Every write refuses strings that are not plain text (domain/text.ts), whoever calls the store.
 * Reads stay lenient: a row written before this check still loads, so one bad row cannot make a
 * whole listing (and with it every pooler's reload) fail.
 */
function assertPlainText(value: unknown, what: string): void {
  const issues = invalidTextIn(value);
  if (issues.length > 0) throw new ValidationError(`invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

export function buildNewTenant(input: NewTenantInput, now: Date): Tenant {
  assertPlainText(input, 'tenant');
  const t = parseOrThrow(newTenantSchema, input, 'tenant');
  const ts = now.toISOString();
  return parseOrThrow(tenantSchema, { ...t, version: 1, createdAt: ts, updatedAt: ts }, 'tenant');
}

/** The next version of `current` with `patch` applied; fields in the patch replace whole. */
export function applyTenantPatch(current: Tenant, patch: TenantPatch, now: Date): Tenant {
  assertPlainText(patch, 'tenant update');
  const p = parseOrThrow(tenantPatchSchema, patch, 'tenant update');
  return parseOrThrow(
    tenantSchema,
    { ...current, ...stripUndefined(p), version: current.version + 1, updatedAt: now.toISOString() },
    'tenant',
  );
}

export function buildNewCluster(input: NewClusterInput, now: Date): Cluster {
  assertPlainText(input, 'cluster');
  const c = parseOrThrow(newClusterSchema, input, 'cluster');
  const ts = now.toISOString();
  return parseOrThrow(
    clusterSchema,
    { ...stripUndefined(c), lastEventTime: c.lastEventTime ?? ts, version: 1, createdAt: ts, updatedAt: ts },
    'cluster',
  );
}

/** Refuses to move the epoch backwards: that would let poolers accept stale targets. */
export function applyClusterPatch(current: Cluster, patch: ClusterPatch, now: Date): Cluster {
  assertPlainText(patch, 'cluster update');
  const p = parseOrThrow(clusterPatchSchema, patch, 'cluster update');
  if (p.epoch !== undefined && p.epoch < current.epoch) {
    throw new ValidationError(`invalid cluster update: epoch may not decrease (${current.epoch} → ${p.epoch})`, [
      { path: 'epoch', message: 'may not decrease' },
    ]);
  }
  const next: Record<string, unknown> = { ...current, ...stripUndefined(p), version: current.version + 1, updatedAt: now.toISOString() };
  // A budget figure patched to null goes back to its default (domain/budget.ts).
  for (const k of ['maxConnections', 'connectionBudget'] as const) if (next[k] === null) delete next[k];
  return parseOrThrow(clusterSchema, next, 'cluster');
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
