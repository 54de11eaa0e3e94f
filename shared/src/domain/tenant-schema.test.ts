import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { exampleNewTenant } from '../testing/examples.ts';
import { buildNewTenant, applyTenantPatch } from './lifecycle.ts';
import { clusterAdminSecretContext, loginKey, MAX_DURATION_SECONDS, newTenantSchema, poolSettingsSchema, tenantSecretContext } from './tenant.ts';

const NOW = new Date('2025-02-01T00:00:00.000Z');

describe('tenant schema', () => {
  it('fills defaults (status active, pool defaults matching the pooler config) and stamps version 1', () => {
    const t = buildNewTenant(exampleNewTenant(), NOW);
    expect(t.status).toBe('active');
    expect(t.version).toBe(1);
    expect(t.createdAt).toBe(NOW.toISOString());
    expect(t.pool).toEqual({
      mode: 'transaction',
      size: 20,
      minIdle: 0,
      maxClients: 1000,
      connectTimeout: 5,
      idleTimeout: 600,
      maxLifetime: 3600,
      checkoutTimeout: 30,
    });
  });

  it.each(['ab', 'Acme', '-acme', 'acme_prod', 'a'.repeat(64)])('rejects tenantId %j', (tenantId) => {
    expect(newTenantSchema.safeParse(exampleNewTenant({ tenantId })).success).toBe(false);
  });

  it.each(['abc', 'a-1', '0ab', 'a'.repeat(63)])('accepts tenantId %j', (tenantId) => {
    expect(newTenantSchema.safeParse(exampleNewTenant({ tenantId })).success).toBe(true);
  });

  it('requires exactly one of clusterId and host in the destination', () => {
    const d = exampleNewTenant().destination;
    const both = { ...d, host: 'db.example', port: 5432 };
    const { clusterId: _c, ...neither } = d;
    expect(newTenantSchema.safeParse(exampleNewTenant({ destination: both })).success).toBe(false);
    expect(newTenantSchema.safeParse(exampleNewTenant({ destination: neither })).success).toBe(false);
    expect(newTenantSchema.safeParse(exampleNewTenant({ destination: { ...neither, host: 'db.example', port: 5432 } })).success).toBe(true);
  });

  it('refuses a plaintext password where a verifier belongs, without echoing it in the error', () => {
    const input = exampleNewTenant({ clientAuth: { scram: 'hunter2-plaintext' } });
    let err: unknown;
    try {
      buildNewTenant(input, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('VALIDATION');
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as ValidationError).issues.map((i) => i.path)).toContain('clientAuth.scram');
  });

  it('refuses a duration no timer can wait (the pooler would have to skip the tenant)', () => {
    const r = poolSettingsSchema.safeParse({ connectTimeout: MAX_DURATION_SECONDS + 1 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be at most 2147483 seconds (about 24.8 days, the longest a timer can wait)');
    expect(poolSettingsSchema.parse({ maxLifetime: MAX_DURATION_SECONDS }).maxLifetime).toBe(MAX_DURATION_SECONDS);
  });

  it('refuses minIdle above size', () => {
    expect(poolSettingsSchema.safeParse({ size: 2, minIdle: 3 }).success).toBe(false);
  });

  it('patches replace fields whole and bump the version', () => {
    const t = buildNewTenant(exampleNewTenant(), NOW);
    const later = new Date('2025-02-02T00:00:00.000Z');
    const next = applyTenantPatch(t, { status: 'suspended', pool: poolSettingsSchema.parse({ size: 5 }) }, later);
    expect(next.version).toBe(2);
    expect(next.status).toBe('suspended');
    expect(next.pool.size).toBe(5);
    expect(next.createdAt).toBe(t.createdAt);
    expect(next.updatedAt).toBe(later.toISOString());
  });

  it('binds the destination password to tenant and cluster, "static" for a fixed host', () => {
    expect(tenantSecretContext('acme-prod', { clusterId: 'main' })).toEqual({ tenantId: 'acme-prod', clusterId: 'main' });
    expect(tenantSecretContext('acme-prod', {})).toEqual({ tenantId: 'acme-prod', clusterId: 'static' });
  });
});

describe('login guard key', () => {
  it('keeps pairs distinct even when names contain the separator', () => {
    expect(loginKey({ database: 'acme', user: 'app' })).toBe('acme#app');
    expect(loginKey({ database: 'a#b', user: 'c' })).not.toBe(loginKey({ database: 'a', user: 'b#c' }));
    expect(loginKey({ database: 'a%23b', user: 'c' })).not.toBe(loginKey({ database: 'a#b', user: 'c' }));
  });
});

describe('encryption contexts', () => {
  it('keeps cluster admin contexts apart from tenant contexts, using only the keys the KMS policy allows', () => {
    const admin = clusterAdminSecretContext('main');
    const tenant = tenantSecretContext('acme-prod', { clusterId: 'main' });
    expect(admin).toEqual({ clusterId: 'main' });
    expect(admin).not.toEqual(tenant);
    for (const ctx of [admin, tenant]) expect(Object.keys(ctx).every((k) => k === 'tenantId' || k === 'clusterId')).toBe(true);
  });
});
