// Pure construction of stored records from store inputs, shared by every TenantStore /
// ClusterStore adapter so they agree on defaults, versioning and timestamps.
import { clusterPatchSchema, clusterSchema, newClusterSchema, type Cluster, type ClusterPatch, type NewClusterInput } from './cluster.ts';
import { ValidationError } from './errors.ts';
import { parseOrThrow } from './parse.ts';
import { newTenantSchema, tenantPatchSchema, tenantSchema, type NewTenantInput, type Tenant, type TenantPatch } from './tenant.ts';

export function buildNewTenant(input: NewTenantInput, now: Date): Tenant {
  const t = parseOrThrow(newTenantSchema, input, 'tenant');
  const ts = now.toISOString();
  return parseOrThrow(tenantSchema, { ...t, version: 1, createdAt: ts, updatedAt: ts }, 'tenant');
}

/** The next version of `current` with `patch` applied; fields in the patch replace whole. */
export function applyTenantPatch(current: Tenant, patch: TenantPatch, now: Date): Tenant {
  const p = parseOrThrow(tenantPatchSchema, patch, 'tenant update');
  return parseOrThrow(
    tenantSchema,
    { ...current, ...stripUndefined(p), version: current.version + 1, updatedAt: now.toISOString() },
    'tenant',
  );
}

export function buildNewCluster(input: NewClusterInput, now: Date): Cluster {
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
  const p = parseOrThrow(clusterPatchSchema, patch, 'cluster update');
  if (p.epoch !== undefined && p.epoch < current.epoch) {
    throw new ValidationError(`invalid cluster update: epoch may not decrease (${current.epoch} → ${p.epoch})`, [
      { path: 'epoch', message: 'may not decrease' },
    ]);
  }
  return parseOrThrow(
    clusterSchema,
    { ...current, ...stripUndefined(p), version: current.version + 1, updatedAt: now.toISOString() },
    'cluster',
  );
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
