// A tenant's read endpoint, from the stored tenant to the routing snapshot: tenantToConfig gives it
// the cluster's published readers (none for a fixed host, and nothing when off); the snapshot
// serves its login `<database>_ro` with the tenant's route, except a read login that is another
// tenant's login (the login keeps its tenant) or claimed twice.
import { describe, expect, it } from 'vitest';
import { buildNewTenant } from '../../../../shared/src/domain/lifecycle.ts';
import { exampleNewTenant } from '../../../../shared/src/testing/examples.ts';
import type { Tenant } from '../../../../shared/src/domain/tenant.ts';
import { configSchema } from '../schema.ts';
import { buildSnapshot, loginKey } from '../snapshot.ts';
import { tenantToConfig } from './tenant-config.ts';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const conv = {
  password: 'dest-secret',
  writerOf: () => ({ host: '10.1.0.5', port: 5433 }),
  readersOf: () => [
    { host: '10.1.0.6', port: 5433 },
    { host: '10.1.0.7', port: 5433 },
  ],
  now: NOW,
};
const on = { enabled: true, maxReplicaLagMs: 750 };

function tenant(overrides: Parameters<typeof exampleNewTenant>[0] = {}): Tenant {
  return buildNewTenant(exampleNewTenant(overrides), new Date('2030-01-01T00:00:00.000Z'));
}

describe('read endpoint configuration', () => {
  it('gives a cluster tenant its cluster’s readers and bound; a fixed host none; off or absent: no endpoint', () => {
    expect(tenantToConfig(tenant({ readEndpoint: on }), conv).read_endpoint).toEqual({
      readers: [
        { host: '10.1.0.6', port: 5433 },
        { host: '10.1.0.7', port: 5433 },
      ],
      max_replica_lag_ms: 750,
    });
    const fixed = tenant({ readEndpoint: on, destination: { host: 'db.example', database: 'acme', user: 'acme_app', passwordCiphertext: 'Y2lwaGVydGV4dA==' } });
    expect(tenantToConfig(fixed, conv).read_endpoint).toEqual({ readers: [], max_replica_lag_ms: 750 });
    expect(tenantToConfig(tenant({ readEndpoint: { ...on, enabled: false } }), conv).read_endpoint).toBeUndefined();
    expect(tenantToConfig(tenant(), conv).read_endpoint).toBeUndefined();
  });

  it('serves <database>_ro with the tenant’s route, each reader a target with the tenant’s credentials', () => {
    const c = tenantToConfig(tenant({ readEndpoint: on }), conv);
    const snap = buildSnapshot(configSchema.parse({ tenants: [c] }), 1);
    const route = snap.byReadLogin?.get(loginKey('acme_ro', 'app'));
    expect(route?.id).toBe('acme-prod');
    expect(route?.read).toMatchObject({ database: 'acme_ro', maxLagMs: 750 });
    expect(route?.read?.readers.map((r) => [r.host, r.port, r.database, r.user, r.password])).toEqual([
      ['10.1.0.6', 5433, 'acme', 'acme_app', 'dest-secret'],
      ['10.1.0.7', 5433, 'acme', 'acme_app', 'dest-secret'],
    ]);
    expect(snap.byLogin.has(loginKey('acme_ro', 'app'))).toBe(false);
  });

  it('does not serve a read login that is another tenant’s login', () => {
    const reads = tenantToConfig(tenant({ readEndpoint: on }), conv);
    const squatter = tenantToConfig(tenant({ tenantId: 'squat-prod', client: { database: 'acme_ro', user: 'app' } }), conv);
    const snap = buildSnapshot(configSchema.parse({ tenants: [reads, squatter] }), 1);
    expect(snap.byLogin.get(loginKey('acme_ro', 'app'))?.id).toBe('squat-prod');
    expect(snap.byReadLogin?.has(loginKey('acme_ro', 'app'))).toBe(false);
    // Both tenants are still served on their own logins.
    expect(snap.byId.size).toBe(2);
  });

  it('refuses a bad bound or too many readers in a configuration file', () => {
    const c = tenantToConfig(tenant({ readEndpoint: on }), conv);
    for (const read_endpoint of [{ max_replica_lag_ms: -1 }, { max_replica_lag_ms: 3_600_001 }, { max_replica_lag_ms: 1.5 }, { readers: Array.from({ length: 65 }, (_, i) => ({ host: `r${i}`, port: 5432 })) }, { other: 1 }]) {
      expect(configSchema.safeParse({ tenants: [{ ...c, read_endpoint }] }).success, JSON.stringify(read_endpoint).slice(0, 40)).toBe(false);
    }
  });
});
