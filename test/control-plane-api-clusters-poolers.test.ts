// POST/GET /clusters and GET /poolers with local adapters: the admin password is stored encrypted
// and never returned, targets are published on create, and fleet convergence ignores stale poolers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterAdminSecretContext } from '../shared/src/domain/tenant.ts';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeGetCluster } from '../functions/api/clusters-get.ts';
import { makeHandler as makeListClusters } from '../functions/api/clusters-list.ts';
import { makeHandler as makeUpdateCluster } from '../functions/api/clusters-update.ts';
import { exampleNewTenant } from '../shared/src/testing/examples.ts';
import { makeHandler as makePoolers } from '../functions/api/poolers-list.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

describe('clusters and poolers', () => {
  let t: LocalTestDeps;
  const now = new Date('2030-01-01T00:10:00.000Z');
  beforeEach(async () => {
    t = await localTestDeps({ now: () => now });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('creates a cluster with an encrypted admin password, publishes its targets, lists it without secrets', async () => {
    const res = await invoke(makeCreateCluster(t.deps), {
      method: 'POST',
      path: '/clusters',
      body: { clusterId: 'main', kind: 'static', writer: { host: '10.0.0.1', port: 5432 }, readers: [{ host: '10.0.0.2', port: 5432 }], admin: { user: 'admin', password: 'admin-password-xyz' } },
    });
    expect(res.status).toBe(201);
    expect(field(res.body, 'admin')).toEqual({ user: 'admin' });
    expect(field(res.body, 'epoch')).toBe(0);
    const stored = await t.deps.adapters.clusters.get('main');
    const admin = stored?.admin;
    expect(admin && 'passwordCiphertext' in admin && (await t.deps.adapters.secrets.decrypt(admin.passwordCiphertext, clusterAdminSecretContext('main')))).toBe('admin-password-xyz');
    expect(await t.deps.adapters.config.getClusterTargets('main')).toMatchObject({ writer: { host: '10.0.0.1', port: 5432 }, epoch: 0 });
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(1);

    const list = await invoke(makeListClusters(t.deps), { method: 'GET', path: '/clusters' });
    expect(list.status).toBe(200);
    expect(field<unknown[]>(list.body, 'items')).toHaveLength(1);
    expect(list.rawBody).not.toContain('admin-password-xyz');
    expect(list.rawBody).not.toContain(admin && 'passwordCiphertext' in admin ? admin.passwordCiphertext : '<none>');

    const dup = await invoke(makeCreateCluster(t.deps), { method: 'POST', path: '/clusters', body: { clusterId: 'main', kind: 'static', writer: { host: 'x', port: 1 } } });
    expect(dup.status).toBe(409);
    expect(field(dup.body, 'error', 'code')).toBe('ALREADY_EXISTS');
  });

  it('refuses invalid clusters with 400', async () => {
    const post = (body: unknown) => invoke(makeCreateCluster(t.deps), { method: 'POST', path: '/clusters', body });
    expect((await post({ clusterId: 'a', kind: 'static' })).status).toBe(400);
    expect((await post({ clusterId: 'a', kind: 'aurora' })).status).toBe(400);
    expect((await post({ clusterId: 'static', kind: 'static', writer: { host: 'h', port: 1 } })).status).toBe(400);
    expect((await post({ clusterId: 'a', kind: 'static', writer: { host: 'h', port: 1 }, epoch: 9 })).status).toBe(400);
  });

  it('reports each pooler and whether the live fleet has applied the current config version', async () => {
    const poolers = makePoolers(t.deps);
    const empty = await invoke(poolers, { method: 'GET', path: '/poolers' });
    expect(empty.body).toEqual({ configVersion: 0, converged: true, budgets: { generation: 0, settled: true, leases: [] }, poolers: [] });

    await t.deps.adapters.config.bumpConfigVersion();
    await t.deps.adapters.config.bumpConfigVersion();
    await t.deps.adapters.heartbeats.put({ poolerId: 'a', appliedConfigVersion: 2, lastSeen: '2030-01-01T00:09:55.000Z' });
    await t.deps.adapters.heartbeats.put({ poolerId: 'b', appliedConfigVersion: 1, lastSeen: '2030-01-01T00:09:58.000Z' });
    // Replaced an hour ago: stale, does not hold back convergence.
    await t.deps.adapters.heartbeats.put({ poolerId: 'old', appliedConfigVersion: 0, lastSeen: '2029-12-31T23:10:00.000Z' });

    const res = await invoke(poolers, { method: 'GET', path: '/poolers' });
    expect(res.status).toBe(200);
    expect(field(res.body, 'configVersion')).toBe(2);
    expect(field(res.body, 'converged')).toBe(false);
    expect(field<unknown[]>(res.body, 'poolers').map((p) => [field(p, 'poolerId'), field(p, 'converged'), field(p, 'stale')])).toEqual([
      ['a', true, false],
      ['b', false, false],
      ['old', false, true],
    ]);

    await t.deps.adapters.heartbeats.put({ poolerId: 'b', appliedConfigVersion: 2, lastSeen: '2030-01-01T00:09:59.000Z' });
    expect(field((await invoke(poolers, { method: 'GET', path: '/poolers' })).body, 'converged')).toBe(true);
    expect((await invoke(poolers, { method: 'GET', path: '/poolers', query: { staleAfterSeconds: 'soon' } })).status).toBe(400);
  });

  it('shows each pooler’s budget lease and health, and each cluster’s budget, its tenants and each pooler’s share', async () => {
    const post = await invoke(makeCreateCluster(t.deps), { method: 'POST', path: '/clusters', body: { clusterId: 'main', kind: 'static', writer: { host: '10.0.0.1', port: 5432 }, connectionBudget: 10 } });
    expect(field(post.body, 'budget')).toEqual({ maxConnections: 100, reserved: 10, budget: 10, explicit: true });
    for (const [id, size] of [['ten-a', 8], ['ten-b', 8]] as const) {
      await t.deps.adapters.tenants.create(exampleNewTenant({ tenantId: id, client: { database: id, user: id }, destination: { clusterId: 'main', database: id, user: id, passwordCiphertext: 'x' }, pool: { size } }));
    }
    const ms = now.getTime();
    const holder = (c: string) => c.repeat(16);
    await t.deps.adapters.heartbeats.put({ poolerId: 'a', appliedConfigVersion: 1, lastSeen: now.toISOString() });
    await t.deps.adapters.heartbeats.put({ poolerId: 'b', appliedConfigVersion: 1, lastSeen: now.toISOString() });
    await t.deps.adapters.heartbeats.put({ poolerId: 'c', appliedConfigVersion: 1, lastSeen: now.toISOString() });
    // a has the generation in effect, b joined and waits for it, c's lease has expired.
    await t.deps.adapters.budgets.write({
      version: 1,
      generation: 4,
      members: [
        { holder: holder('a'), poolerId: 'a', expiresAtMs: ms + 5000, ack: 4 },
        { holder: holder('b'), poolerId: 'b', expiresAtMs: ms + 5000, ack: 0 },
        { holder: holder('c'), poolerId: 'c', expiresAtMs: ms - 1, ack: 4 },
      ],
    });
    const res = await invoke(makePoolers(t.deps), { method: 'GET', path: '/poolers' });
    expect(field(res.body, 'budgets')).toMatchObject({ generation: 4, settled: false });
    expect(field<unknown[]>(res.body, 'poolers').map((p) => [field(p, 'poolerId'), field(p, 'health'), (p as { lease?: unknown }).lease])).toEqual([
      ['a', 'ok', { expiresAt: new Date(ms + 5000).toISOString(), inEffect: true }],
      ['b', 'rebalancing', { expiresAt: new Date(ms + 5000).toISOString(), inEffect: false }],
      ['c', 'no-lease', undefined],
    ]);

    const get = await invoke(makeGetCluster(t.deps), { method: 'GET', path: '/clusters/main', pathParameters: { id: 'main' } });
    expect(get.status).toBe(200);
    const leases = field<{ asked: number; tenants: unknown[]; poolers: Array<{ poolerId: string; share: number }> }>(get.body, 'leases');
    // 8 + 8 asked of a budget of 10: shared on demand; the budget split over the three leases of the generation.
    expect(leases.asked).toBe(16);
    expect(leases.tenants).toEqual([
      { tenantId: 'ten-a', size: 8 },
      { tenantId: 'ten-b', size: 8 },
    ]);
    expect(leases.poolers.map((p) => p.share).sort()).toEqual([3, 3, 4]);
    expect((await invoke(makeGetCluster(t.deps), { method: 'GET', path: '/clusters/nope', pathParameters: { id: 'nope' } })).status).toBe(404);

    const patch = (body: unknown, headers: Record<string, string> = {}) => invoke(makeUpdateCluster(t.deps), { method: 'PATCH', path: '/clusters/main', pathParameters: { id: 'main' }, body, headers });
    const raised = await patch({ maxConnections: 500, connectionBudget: null });
    expect(raised.status).toBe(200);
    expect(field(raised.body, 'budget')).toEqual({ maxConnections: 500, reserved: 50, budget: 450, explicit: false });
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(2);
    expect((await patch({ connectionBudget: 20 }, { 'if-match': '"1"' })).status).toBe(409);
    expect((await patch({ connectionBudget: 0 })).status).toBe(400);
    expect((await patch({})).status).toBe(400);
    expect((await patch({ connectionBudget: 20, writer: { host: 'x', port: 1 } })).status).toBe(400);
    expect((await invoke(makeUpdateCluster(t.deps), { method: 'PATCH', path: '/clusters/nope', pathParameters: { id: 'nope' }, body: { connectionBudget: 5 } })).status).toBe(404);
  });
});
