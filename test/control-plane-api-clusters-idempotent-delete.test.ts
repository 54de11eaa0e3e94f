// POST /clusters is idempotent (the same body again finishes a create whose publish failed; a
// different body for the same id is 409 ALREADY_EXISTS), and DELETE /clusters/{id} removes a
// cluster no tenant uses (409 CLUSTER_IN_USE otherwise), with its published targets.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeDeleteCluster } from '../functions/api/clusters-delete.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { makeHandler as makeDeleteTenant } from '../functions/api/tenants-delete.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

let t: LocalTestDeps;
beforeEach(async () => {
  t = await localTestDeps();
});
afterEach(async () => {
  await t.cleanup();
});

const body = { clusterId: 'main', kind: 'static', writer: { host: '10.0.0.1', port: 5432 }, readers: [{ host: '10.0.0.2', port: 5432 }], admin: { user: 'admin', password: 'admin-password-xyz' } };
const post = (b: unknown) => invoke(makeCreateCluster(t.deps), { method: 'POST', path: '/clusters', body: b });
const del = (id: string, headers: Record<string, string> = {}) => invoke(makeDeleteCluster(t.deps), { method: 'DELETE', path: `/clusters/${id}`, pathParameters: { id }, headers });

describe('POST /clusters is idempotent', () => {
  it('the same body again after a failed publish: 200 Idempotent-Replayed, targets published, version bumped', async () => {
    const config = t.deps.adapters.config;
    const publish = config.publishClusterTargets.bind(config);
    config.publishClusterTargets = () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const first = await post(body);
    config.publishClusterTargets = publish;
    expect(first.status, first.rawBody).toBe(201);
    expect(field(first.body, 'warning', 'code')).toBe('CONFIG_NOT_PUBLISHED');
    expect(await config.getClusterTargets('main')).toBeUndefined();
    const before = await config.getConfigVersion();

    const again = await post(body);
    expect(again.status, again.rawBody).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).not.toHaveProperty('warning');
    expect(field(again.body, 'admin')).toEqual({ user: 'admin' });
    expect(await config.getClusterTargets('main')).toMatchObject({ writer: { host: '10.0.0.1', port: 5432 }, readers: [{ host: '10.0.0.2', port: 5432 }], epoch: 0 });
    expect(await config.getConfigVersion()).toBeGreaterThan(before);
    // Readers in another order are the same set.
    expect((await post({ ...body, readers: [...body.readers].reverse() })).status).toBe(200);
  });

  it('a different body for the same id is 409 ALREADY_EXISTS, whatever differs', async () => {
    expect((await post(body)).status).toBe(201);
    const variants: unknown[] = [
      { ...body, writer: { host: '10.0.0.9', port: 5432 } },
      { ...body, readers: [] },
      { ...body, members: [{ host: '10.0.0.1', port: 5432 }] },
      { ...body, admin: { user: 'admin', password: 'another-password' } },
      { ...body, admin: { user: 'root', password: 'admin-password-xyz' } },
      { clusterId: 'main', kind: 'static', writer: body.writer, readers: body.readers },
    ];
    for (const v of variants) {
      const res = await post(v);
      expect(res.status, JSON.stringify(v)).toBe(409);
      expect(field(res.body, 'error', 'code')).toBe('ALREADY_EXISTS');
    }
  });
});

describe('DELETE /clusters/{id}', () => {

  it('a cluster registered again under a deleted id replaces targets its previous life left behind', async () => {
    const config = t.deps.adapters.config;
    expect((await post(body)).status).toBe(201);
    expect((await del('main')).status).toBe(200);
    // A reconcile that listed the old cluster before the DELETE republishes its targets after it
    // (functions/failover/sync-cluster.ts: "never published" counts as lagging): epoch 3, old writer.
    expect(await config.publishClusterTargets('main', { writer: { host: '10.9.9.9', port: 5432 }, readers: [], epoch: 3, eventTime: '2020-01-01T00:00:00.000Z' })).toBe(true);
    const again = await post({ ...body, writer: { host: '10.0.0.5', port: 5432 } });
    expect(again.status, again.rawBody).toBe(201);
    expect(again.body).not.toHaveProperty('warning');
    // Not the old cluster's writer: the new cluster's tenants must not be sent there.
    expect(await config.getClusterTargets('main')).toMatchObject({ writer: { host: '10.0.0.5', port: 5432 }, epoch: 0 });
  });
  it('refuses while a tenant uses the cluster (409 CLUSTER_IN_USE), then deletes it and its targets', async () => {
    expect((await post(body)).status).toBe(201);
    const tenant = await invoke(makeCreateTenant(t.deps), {
      method: 'POST',
      path: '/tenants',
      body: { tenantId: 'on-main', client: { database: 'app', user: 'app' }, destination: { clusterId: 'main', database: 'app', user: 'app', password: 'destination-password' } },
    });
    expect(tenant.status).toBe(201);

    const refused = await del('main');
    expect(refused.status, refused.rawBody).toBe(409);
    expect(field(refused.body, 'error', 'code')).toBe('CLUSTER_IN_USE');
    expect(await t.deps.adapters.clusters.get('main')).toBeDefined();
    expect(await t.deps.adapters.config.getClusterTargets('main')).toBeDefined();

    expect((await invoke(makeDeleteTenant(t.deps), { method: 'DELETE', path: '/tenants/on-main', pathParameters: { id: 'on-main' } })).status).toBe(200);
    const stale = await del('main', { 'if-match': '"7"' });
    expect(stale.status).toBe(409);
    expect(field(stale.body, 'error', 'code')).toBe('VERSION_CONFLICT');

    const before = await t.deps.adapters.config.getConfigVersion();
    const ok = await del('main', { 'if-match': '"1"' });
    expect(ok.status, ok.rawBody).toBe(200);
    expect(ok.body).toEqual({ clusterId: 'main', deleted: true });
    expect(await t.deps.adapters.clusters.get('main')).toBeUndefined();
    expect(await t.deps.adapters.config.getClusterTargets('main')).toBeUndefined();
    expect(await t.deps.adapters.config.getConfigVersion()).toBeGreaterThan(before);

    const gone = await del('main');
    expect(gone.status).toBe(404);
    expect(field(gone.body, 'error', 'code')).toBe('NOT_FOUND');
    expect((await del('No_Such')).status).toBe(400);

    // The id is free again: a new cluster under it publishes its own targets.
    expect((await post({ ...body, writer: { host: '10.0.0.5', port: 5433 } })).status).toBe(201);
    expect(await t.deps.adapters.config.getClusterTargets('main')).toMatchObject({ writer: { host: '10.0.0.5', port: 5433 } });
  });
});
