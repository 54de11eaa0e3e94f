// Domain Tenant → pooler TenantConfig: verifiers (with the rotation grace period), destination
// (cluster writer or fixed host), status and pool settings; the result is valid pooler config.
import { describe, expect, it } from 'vitest';
import { createMd5Verifier, createScramVerifier } from '../../../../shared/src/auth/verifier.ts';
import { buildNewTenant } from '../../../../shared/src/domain/lifecycle.ts';
import { exampleNewTenant } from '../../../../shared/src/testing/examples.ts';
import type { Tenant } from '../../../../shared/src/domain/tenant.ts';
import { tenantSchema } from '../schema.ts';
import { buildSnapshot } from '../snapshot.ts';
import { configSchema } from '../schema.ts';
import { activeVerifiers, authMethodOf, graceEndsAt, tenantToConfig, TenantNotRoutableError } from './tenant-config.ts';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const writers: Record<string, { host: string; port: number }> = { main: { host: '10.1.0.5', port: 5433 } };
const conv = { password: 'dest-secret', writerOf: (id: string) => writers[id], now: NOW };

function tenant(overrides: Parameters<typeof exampleNewTenant>[0] = {}): Tenant {
  return buildNewTenant(exampleNewTenant(overrides), new Date('2030-01-01T00:00:00.000Z'));
}

const oldScram = createScramVerifier('old-secret', { iterations: 16 });
const oldMd5 = createMd5Verifier('old-secret', 'app');

describe('tenantToConfig', () => {
  it('routes a cluster destination to the cluster writer and checks new connections are the writer', () => {
    const t = tenant();
    const c = tenantToConfig(t, conv);
    expect(c).toMatchObject({
      id: 'acme-prod',
      database: 'acme',
      user: 'app',
      status: 'active',
      target: { host: '10.1.0.5', port: 5433, database: 'acme', user: 'acme_app', password: 'dest-secret' },
    });
    expect(c.pool.check_writer).toBe(true);
    expect(c.schema).toBeUndefined();
    // Valid pooler configuration, and the snapshot accepts its verifiers.
    expect(tenantSchema.parse(c)).toEqual(c);
    const snap = buildSnapshot(configSchema.parse({ tenants: [c] }), 1);
    expect(snap.byId.get('acme-prod')?.scram).toHaveLength(1);
    expect(snap.byId.get('acme-prod')?.md5).toHaveLength(1);
  });

  it('routes a fixed-host destination to that host, port 5432 by default, without the writer check', () => {
    const d = exampleNewTenant().destination;
    const { clusterId: _c, ...fixed } = d;
    const noPort = tenantToConfig(tenant({ destination: { ...fixed, host: 'db.internal' } }), conv);
    expect(noPort.target).toMatchObject({ host: 'db.internal', port: 5432 });
    expect(noPort.pool.check_writer).toBe(false);
    const withPort = tenantToConfig(tenant({ destination: { ...fixed, host: 'db.internal', port: 6000, schema: 'acme' } }), conv);
    expect(withPort.target).toMatchObject({ host: 'db.internal', port: 6000 });
    expect(withPort.schema).toBe('acme');
  });

  it('applies the base file\'s target_tls to the destination, and no TLS settings without it', () => {
    const t = tenant();
    expect(tenantToConfig(t, conv).target.tls).toBeUndefined();
    const tls = { mode: 'verify-full' as const, ca_file: '/etc/switchyard/rds-ca.pem' };
    expect(tenantToConfig(t, { ...conv, tls }).target.tls).toEqual(tls);
  });

  it('refuses a cluster destination whose cluster has no published writer', () => {
    const d = exampleNewTenant().destination;
    const t = tenant({ destination: { ...d, clusterId: 'unknown' } });
    expect(() => tenantToConfig(t, conv)).toThrow(TenantNotRoutableError);
  });

  it('maps suspended and deleting to a non-active tenant', () => {
    expect(tenantToConfig(tenant({ status: 'suspended' }), conv).status).toBe('suspended');
    expect(tenantToConfig(tenant({ status: 'deleting' }), conv).status).toBe('suspended');
    expect(tenantToConfig(tenant({ status: 'active' }), conv).status).toBe('active');
  });

  it('copies every pool setting, absent optional timeouts meaning off', () => {
    const t = tenant({
      pool: { mode: 'session', size: 7, minIdle: 2, maxClients: 70, connectTimeout: 3, idleTimeout: 60, maxLifetime: 900, checkoutTimeout: 12, queryTimeout: 30 },
    });
    expect(tenantToConfig(t, conv).pool).toEqual({
      mode: 'session',
      size: 7,
      min_idle: 2,
      max_clients: 70,
      connect_timeout: 3,
      idle_timeout: 60,
      max_lifetime: 900,
      checkout_timeout: 12,
      query_timeout: 30,
      idle_in_transaction_timeout: 0,
      // The domain has no client idle timeout (yet): off.
      client_idle_timeout: 0,
      check_writer: true,
    });
  });

  it('carries the pinning and lazy-reset settings set through the API (per tenant)', () => {
    const t = tenant({ pool: { mode: 'transaction', size: 7, minIdle: 0, maxClients: 70, connectTimeout: 3, idleTimeout: 60, maxLifetime: 900, checkoutTimeout: 12, maxPinned: 4, pinAdvisoryLocks: true, pinRole: false, lazyReset: false } });
    expect(tenantToConfig(t, conv).pool).toMatchObject({ max_pinned: 4, pin_advisory_locks: true, pin_role: false, lazy_reset: false });
    const off = tenantToConfig(tenant({}), conv).pool;
    expect(off).not.toHaveProperty('max_pinned');
    expect(off).not.toHaveProperty('pin_role');
    expect(off).not.toHaveProperty('lazy_reset');
  });
});

describe('verifiers during a password rotation', () => {
  const current = exampleNewTenant().clientAuth;

  it('accepts the previous verifiers until the grace period ends, newest first', () => {
    const auth = { ...current, previous: { scram: oldScram, md5: oldMd5, expiresAt: '2030-06-01T12:05:00.000Z' } };
    expect(activeVerifiers(auth, NOW)).toEqual([current.scram, current.md5, oldScram, oldMd5]);
    expect(graceEndsAt({ clientAuth: auth }, NOW)).toBe(Date.parse('2030-06-01T12:05:00.000Z'));
    const t = tenant({ clientAuth: auth });
    expect(tenantToConfig(t, conv).verifiers).toEqual([current.scram, current.md5, oldScram, oldMd5]);
  });

  it('drops the previous verifiers once the grace period is over', () => {
    const auth = { ...current, previous: { scram: oldScram, expiresAt: '2030-06-01T11:59:59.999Z' } };
    expect(activeVerifiers(auth, NOW)).toEqual([current.scram, current.md5]);
    expect(graceEndsAt({ clientAuth: auth }, NOW)).toBeUndefined();
  });

  it('lists only the SCRAM verifier when there is no md5 one', () => {
    const { md5: _m, ...scramOnly } = current;
    expect(activeVerifiers(scramOnly, NOW)).toEqual([current.scram]);
  });
});

describe('authMethodOf (which method clients are asked for)', () => {
  const current = exampleNewTenant().clientAuth;
  const { md5: _m, ...scramOnly } = current;
  const grace = '2030-06-01T12:05:00.000Z';
  const over = '2030-06-01T11:59:59.999Z';

  it('md5 for a tenant stored with an md5 verifier (the API’s md5: true), SCRAM without', () => {
    expect(authMethodOf(current, NOW)).toBe('md5');
    expect(authMethodOf(scramOnly, NOW)).toBe('scram-sha-256');
    expect(tenantToConfig(tenant({ clientAuth: current }), conv).auth_method).toBe('md5');
    expect(tenantToConfig(tenant({ clientAuth: scramOnly }), conv).auth_method).toBe('scram-sha-256');
  });

  it('mid-rotation, md5 only when the previous password has an md5 verifier too', () => {
    expect(authMethodOf({ ...current, previous: { scram: oldScram, md5: oldMd5, expiresAt: grace } }, NOW)).toBe('md5');
    // md5 just turned on: the previous password can only answer SCRAM until its grace period ends.
    expect(authMethodOf({ ...current, previous: { scram: oldScram, expiresAt: grace } }, NOW)).toBe('scram-sha-256');
    expect(authMethodOf({ ...current, previous: { scram: oldScram, expiresAt: over } }, NOW)).toBe('md5');
    // md5 turned off: SCRAM.
    expect(authMethodOf({ ...scramOnly, previous: { scram: oldScram, md5: oldMd5, expiresAt: grace } }, NOW)).toBe('scram-sha-256');
  });
});
