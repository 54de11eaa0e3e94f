// Validation of a configuration handed to the pooler (start, reload): everything but the tenants
// must be valid, or the whole configuration is refused (ConfigError, the running one stays); each
// tenant is validated on its own, and an invalid one is left out and reported, so one bad row from
// the control plane cannot stop every other tenant's reload (issue 10, item 8). Conflicts between
// valid tenants are settled by buildSnapshot (config/snapshot.ts).
//
// The file source validates its file strictly first (config/load.ts): a typo in an operator's file
// is refused at start, and a reload of it is refused as a whole.
import { z } from 'zod';
import { formatIssues } from './load.ts';
import { configSchema, tenantSchema, type PoolerConfig, type TenantConfig } from './schema.ts';
import { ConfigError, type SkippedTenant } from './snapshot.ts';

const withAnyTenants = configSchema.extend({ tenants: z.array(z.unknown()).default([]) });

/** The id to report for an invalid tenant: its own when it is a string, else its position. */
function idOf(t: unknown, index: number): string {
  const id = t !== null && typeof t === 'object' ? (t as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : `tenants.${index}`;
}

export function validateConfig(input: unknown): { config: PoolerConfig; skipped: SkippedTenant[] } {
  const outer = withAnyTenants.safeParse(input ?? {});
  if (!outer.success) throw new ConfigError(`invalid configuration:\n${formatIssues(outer.error)}`);
  const tenants: TenantConfig[] = [];
  const skipped: SkippedTenant[] = [];
  outer.data.tenants.forEach((t, i) => {
    const r = tenantSchema.safeParse(t);
    if (r.success) tenants.push(r.data);
    else {
      const reason = r.error.issues.map((issue) => `tenants.${i}.${issue.path.map(String).join('.')}: ${issue.message}`).join('; ');
      skipped.push({ id: idOf(t, i), reason });
    }
  });
  return { config: { ...outer.data, tenants }, skipped };
}
