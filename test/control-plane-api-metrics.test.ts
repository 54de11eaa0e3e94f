// GET /tenants/{id}/metrics against a real PostgreSQL: the database size and the destination role's
// sessions come from the target, pool figures from the poolers' fresh heartbeats.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { makeHandler as makeMetrics } from '../functions/api/tenants-metrics.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

describe('GET /tenants/{id}/metrics', () => {
  let server: PostgresServer;
  let t: LocalTestDeps;
  let password: string;
  const now = new Date('2030-01-01T00:10:00.000Z');
  beforeAll(async () => {
    server = await startPostgres();
    t = await localTestDeps({ now: () => now });
    expect(
      (
        await invoke(makeCreateCluster(t.deps), {
          method: 'POST',
          path: '/clusters',
          body: { clusterId: 'pg', kind: 'static', writer: { host: server.host, port: server.port }, admin: { user: 'postgres', password: server.superuserPassword } },
        })
      ).status,
    ).toBe(201);
    const res = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'metered', client: { database: 'm', user: 'm' }, destination: { clusterId: 'pg', database: 'metered_db', user: 'metered_role' }, provision: true },
    });
    expect(res.status).toBe(201);
    password = field<string>(res.body, 'password');
  });
  afterAll(async () => {
    await t.cleanup();
    await server.stop();
  });

  it('reports database size, sessions by state and summed pool figures of fresh poolers', async () => {
    const hb = t.deps.adapters.heartbeats;
    await hb.put({ poolerId: 'p1', appliedConfigVersion: 1, lastSeen: '2030-01-01T00:09:30.000Z', pools: { metered: { clientsActive: 3, clientsWaiting: 1, serversActive: 2, serversIdle: 4 } } });
    await hb.put({ poolerId: 'p2', appliedConfigVersion: 1, lastSeen: '2030-01-01T00:09:50.000Z', pools: { metered: { clientsActive: 5, clientsWaiting: 0, serversActive: 1, serversIdle: 1 } } });
    // Gone for an hour: not counted.
    await hb.put({ poolerId: 'p3', appliedConfigVersion: 1, lastSeen: '2029-12-31T23:10:00.000Z', pools: { metered: { clientsActive: 100, clientsWaiting: 100, serversActive: 100, serversIdle: 100 } } });

    const sessions = [0, 1].map(() => new pg.Client({ host: server.host, port: server.port, user: 'metered_role', password, database: 'metered_db' }));
    for (const s of sessions) await s.connect();
    await sessions[0]?.query('BEGIN');
    try {
      const res = await invoke(makeMetrics(t.deps), { method: 'GET', path: '/tenants/metered/metrics', pathParameters: { id: 'metered' } });
      expect(res.status).toBe(200);
      expect(field<number>(res.body, 'target', 'databaseSizeBytes')).toBeGreaterThan(1_000_000);
      expect(field(res.body, 'target', 'connections')).toEqual({ total: 2, active: 0, idle: 1, idleInTransaction: 1 });
      expect(field(res.body, 'pools', 'total')).toEqual({ clientsActive: 8, clientsWaiting: 1, serversActive: 3, serversIdle: 5 });
      expect(field<unknown[]>(res.body, 'pools', 'poolers').map((p) => field(p, 'poolerId')).sort()).toEqual(['p1', 'p2']);
    } finally {
      for (const s of sessions) await s.end();
    }
  });

  it('answers 404 for an unknown tenant', async () => {
    const res = await invoke(makeMetrics(t.deps), { method: 'GET', path: '/tenants/nobody-here/metrics', pathParameters: { id: 'nobody-here' } });
    expect(res.status).toBe(404);
    expect(field(res.body, 'error', 'code')).toBe('NOT_FOUND');
  });
});
