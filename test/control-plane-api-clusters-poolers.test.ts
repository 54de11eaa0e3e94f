// POST/GET /clusters and GET /poolers with local adapters: the admin password is stored encrypted
// and never returned, targets are published on create, and fleet convergence ignores stale poolers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterAdminSecretContext } from '../shared/src/domain/tenant.ts';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeListClusters } from '../functions/api/clusters-list.ts';
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
    expect(empty.body).toEqual({ configVersion: 0, converged: true, poolers: [] });

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
});
