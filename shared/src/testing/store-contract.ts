// TEST-ONLY: the behaviour every store adapter must have, as a vitest suite. The local file store
// (shared/src/local/file-store.test.ts) and the DynamoDB store against moto
// (test/control-plane-dynamo-store.test.ts) both run it, so the two cannot drift apart.
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../domain/errors.ts';
import { exampleNewCluster, exampleNewTenant } from './examples.ts';
import type { NodeLease } from '../domain/node-lease.ts';
import type { BudgetLeases } from '../domain/budget.ts';
import type { BudgetLeaseStore, ClusterStore, HeartbeatStore, NodeLeaseStore, TenantStore } from '../ports/store.ts';

export interface StoresUnderTest {
  tenants: TenantStore;
  clusters: ClusterStore;
  heartbeats: HeartbeatStore;
  nodes: NodeLeaseStore;
  budgets: BudgetLeaseStore;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

export interface ContractOptions {
  /**
   * False for a backend behind an emulator that does not make conditional writes atomic against
   * each other (moto serves requests on threads and checks a condition and writes without a lock:
   * under load both racers of a conditional write can win). The racing operations then run one
   * after the other: the loser still proves the condition is checked, and the atomicity itself is
   * the real service's (DynamoDB's conditional writes and transactions), whose request shapes are
   * pinned in shared/src/aws/dynamo-store-requests.test.ts.
   */
  linearizable?: boolean;
}

/** `fresh` must return stores over EMPTY state each time. */
export function describeStoreContract(name: string, fresh: () => Promise<StoresUnderTest>, opts: ContractOptions = {}): void {
  /** Two racing operations: at once where the backend is linearizable, else one after the other. */
  const race = async <T>(a: () => Promise<T>, b: () => Promise<T>): Promise<PromiseSettledResult<T>[]> => {
    if (opts.linearizable !== false) return Promise.allSettled([a(), b()]);
    const first = await Promise.allSettled([a()]);
    const second = await Promise.allSettled([b()]);
    return [...first, ...second];
  };
  describe(`${name}: tenants`, () => {
    let s: StoresUnderTest;
    beforeEach(async () => {
      s = await fresh();
    });

    it('creates a tenant at version 1 and reads it back', async () => {
      const created = await s.tenants.create(exampleNewTenant());
      expect(created.version).toBe(1);
      expect(created.status).toBe('active');
      expect(await s.tenants.get('acme-prod')).toEqual(created);
      expect(await s.tenants.get('nobody-here')).toBeUndefined();
    });

    it('refuses a second tenant with the same id', async () => {
      await s.tenants.create(exampleNewTenant());
      const err = await rejection(s.tenants.create(exampleNewTenant({ client: { database: 'other', user: 'other' } })));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ code: 'CONFLICT', reason: 'exists' });
    });

    it('refuses a second tenant with the same client (database, user) pair', async () => {
      await s.tenants.create(exampleNewTenant());
      const err = await rejection(s.tenants.create(exampleNewTenant({ tenantId: 'acme-copy' })));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ reason: 'login-taken' });
      expect(await s.tenants.get('acme-copy')).toBeUndefined();
      // Same database with another user is a different login.
      await s.tenants.create(exampleNewTenant({ tenantId: 'acme-copy', client: { database: 'acme', user: 'app2' } }));
    });

    it('lets exactly one of two concurrent creates of the same login win', async () => {
      const results = await race(
        () => s.tenants.create(exampleNewTenant({ tenantId: 'racer-one' })),
        () => s.tenants.create(exampleNewTenant({ tenantId: 'racer-two' })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(ConflictError);
    });

    it('returns the stored tenant when a create is retried with the same idempotency key', async () => {
      const first = await s.tenants.create(exampleNewTenant(), { idempotencyKey: 'req-1' });
      const again = await s.tenants.create(exampleNewTenant(), { idempotencyKey: 'req-1' });
      expect(again).toEqual(first);
      const err = await rejection(
        s.tenants.create(exampleNewTenant({ tenantId: 'acme-other', client: { database: 'x', user: 'y' } }), { idempotencyKey: 'req-1' }),
      );
      expect(err).toMatchObject({ code: 'CONFLICT', reason: 'idempotency-key-reused' });
      // Without the key, the same create is a conflict.
      expect(await rejection(s.tenants.create(exampleNewTenant()))).toMatchObject({ reason: 'exists' });
    });

    it('updates with the expected version and bumps it; a stale version is a VersionConflictError', async () => {
      const t = await s.tenants.create(exampleNewTenant());
      const u = await s.tenants.update(t.tenantId, 1, { status: 'suspended' });
      expect(u).toMatchObject({ version: 2, status: 'suspended', createdAt: t.createdAt });
      expect(await s.tenants.get(t.tenantId)).toEqual(u);
      const err = await rejection(s.tenants.update(t.tenantId, 1, { status: 'active' }));
      expect(err).toBeInstanceOf(VersionConflictError);
      expect(err).toMatchObject({ code: 'VERSION_CONFLICT', expectedVersion: 1 });
      expect((await s.tenants.get(t.tenantId))?.status).toBe('suspended');
    });

    it('lets only one of two concurrent updates from the same version win', async () => {
      const t = await s.tenants.create(exampleNewTenant());
      const results = await race(
        () => s.tenants.update(t.tenantId, 1, { status: 'suspended' }),
        () => s.tenants.update(t.tenantId, 1, { status: 'deleting' }),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(VersionConflictError);
      expect((await s.tenants.get(t.tenantId))?.version).toBe(2);
    });

    it('reports NotFoundError when updating or deleting a missing tenant', async () => {
      expect(await rejection(s.tenants.update('ghost-tenant', 1, { status: 'active' }))).toBeInstanceOf(NotFoundError);
      expect(await rejection(s.tenants.delete('ghost-tenant'))).toMatchObject({ code: 'NOT_FOUND', entity: 'tenant' });
    });

    it('rejects an invalid patch with ValidationError and leaves the row alone', async () => {
      const t = await s.tenants.create(exampleNewTenant());
      const bad = { status: 'gone' } as unknown as { status: 'active' };
      expect(await rejection(s.tenants.update(t.tenantId, 1, bad))).toBeInstanceOf(ValidationError);
      expect(await s.tenants.get(t.tenantId)).toEqual(t);
    });

    it('moves the login guard when the client login changes', async () => {
      const t = await s.tenants.create(exampleNewTenant());
      await s.tenants.create(exampleNewTenant({ tenantId: 'beta-prod', client: { database: 'beta', user: 'app' } }));
      const taken = await rejection(s.tenants.update(t.tenantId, 1, { client: { database: 'beta', user: 'app' } }));
      expect(taken).toMatchObject({ reason: 'login-taken' });
      await s.tenants.update(t.tenantId, 1, { client: { database: 'acme2', user: 'app' } });
      // The old pair is free again, the new one is guarded.
      await s.tenants.create(exampleNewTenant({ tenantId: 'gamma-prod' }));
      const err = await rejection(s.tenants.create(exampleNewTenant({ tenantId: 'delta-prod', client: { database: 'acme2', user: 'app' } })));
      expect(err).toMatchObject({ reason: 'login-taken' });
    });

    it('guards a read endpoint’s login (<database>_ro) like a login: claimed on create and update, freed when off, moved with the login, freed on delete', async () => {
      const on = { enabled: true, maxReplicaLagMs: 1000 };
      const t = await s.tenants.create(exampleNewTenant({ readEndpoint: on }));
      // (acme_ro, app) is acme-prod's read login: nobody's login.
      const squat = await rejection(s.tenants.create(exampleNewTenant({ tenantId: 'squat-prod', client: { database: 'acme_ro', user: 'app' } })));
      expect(squat).toMatchObject({ reason: 'login-taken' });
      // (beta_ro, app) is a login: beta may not turn its read endpoint on, on create or update.
      await s.tenants.create(exampleNewTenant({ tenantId: 'beta-ro-prod', client: { database: 'beta_ro', user: 'app' } }));
      const onCreate = await rejection(s.tenants.create(exampleNewTenant({ tenantId: 'beta-prod', client: { database: 'beta', user: 'app' }, readEndpoint: on })));
      expect(onCreate).toMatchObject({ reason: 'login-taken' });
      expect(await s.tenants.get('beta-prod')).toBeUndefined();
      const beta = await s.tenants.create(exampleNewTenant({ tenantId: 'beta-prod', client: { database: 'beta', user: 'app' } }));
      expect(await rejection(s.tenants.update(beta.tenantId, 1, { readEndpoint: on }))).toMatchObject({ reason: 'login-taken' });
      expect((await s.tenants.get('beta-prod'))?.version).toBe(1);
      // Off: the read login is free; on again (moved with a changed login): the new read login is guarded.
      await s.tenants.update(t.tenantId, 1, { readEndpoint: { ...on, enabled: false } });
      const squatter = await s.tenants.create(exampleNewTenant({ tenantId: 'squat-prod', client: { database: 'acme_ro', user: 'app' } }));
      await s.tenants.update(t.tenantId, 2, { readEndpoint: on, client: { database: 'acme2', user: 'app' } });
      expect(await rejection(s.tenants.create(exampleNewTenant({ tenantId: 'late-prod', client: { database: 'acme2_ro', user: 'app' } })))).toMatchObject({ reason: 'login-taken' });
      // Deleted: both of its logins are free.
      await s.tenants.delete(t.tenantId);
      await s.tenants.create(exampleNewTenant({ tenantId: 'late-prod', client: { database: 'acme2_ro', user: 'app' } }));
      await s.tenants.create(exampleNewTenant({ tenantId: 'acme2-prod', client: { database: 'acme2', user: 'app' } }));
      expect(squatter.tenantId).toBe('squat-prod');
    });

    it('deletes a tenant and frees its login; a stale expected version refuses', async () => {
      const t = await s.tenants.create(exampleNewTenant());
      await s.tenants.update(t.tenantId, 1, { status: 'deleting' });
      expect(await rejection(s.tenants.delete(t.tenantId, 1))).toBeInstanceOf(VersionConflictError);
      await s.tenants.delete(t.tenantId, 2);
      expect(await s.tenants.get(t.tenantId)).toBeUndefined();
      await s.tenants.create(exampleNewTenant({ tenantId: 'acme-reborn' }));
    });

    it('lists every tenant exactly once across pages', async () => {
      const ids = ['t-aa', 't-bb', 't-cc', 't-dd', 't-ee'];
      for (const [i, id] of ids.entries()) {
        await s.tenants.create(exampleNewTenant({ tenantId: id, client: { database: 'db', user: `u${i}` } }));
      }
      // Clusters and heartbeats in the same store must not show up.
      await s.clusters.create(exampleNewCluster());
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.tenants.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((t) => t.tenantId));
        cursor = page.cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen.sort()).toEqual(ids);
      expect(pages).toBeGreaterThanOrEqual(3);
      expect((await s.tenants.list()).items).toHaveLength(5);
    });

    it('rejects a cursor it did not issue', async () => {
      expect(await rejection(s.tenants.list({ cursor: 'not-a-cursor!' }))).toBeInstanceOf(ValidationError);
    });

    it("lists a cluster's tenants, following destination changes", async () => {
      const d = exampleNewTenant().destination;
      await s.tenants.create(exampleNewTenant({ tenantId: 'on-main-1', client: { database: 'a', user: 'a' } }));
      await s.tenants.create(exampleNewTenant({ tenantId: 'on-main-2', client: { database: 'b', user: 'b' } }));
      const other = await s.tenants.create(
        exampleNewTenant({ tenantId: 'on-other', client: { database: 'c', user: 'c' }, destination: { ...d, clusterId: 'other' } }),
      );
      const { clusterId: _drop, ...fixed } = d;
      await s.tenants.create(
        exampleNewTenant({ tenantId: 'on-host', client: { database: 'd', user: 'd' }, destination: { ...fixed, host: 'db.local', port: 5432 } }),
      );
      expect((await s.tenants.listByCluster('main')).map((t) => t.tenantId).sort()).toEqual(['on-main-1', 'on-main-2']);
      await s.tenants.update(other.tenantId, 1, { destination: { ...d, clusterId: 'main' } });
      expect((await s.tenants.listByCluster('main')).map((t) => t.tenantId).sort()).toEqual(['on-main-1', 'on-main-2', 'on-other']);
      expect(await s.tenants.listByCluster('other')).toEqual([]);
    });
  });

  describe(`${name}: clusters`, () => {
    let s: StoresUnderTest;
    beforeEach(async () => {
      s = await fresh();
    });

    it('creates, reads, lists and refuses a duplicate id', async () => {
      const c = await s.clusters.create(exampleNewCluster());
      expect(c).toMatchObject({ version: 1, epoch: 0 });
      expect(await s.clusters.get('main')).toEqual(c);
      expect(await s.clusters.get('absent')).toBeUndefined();
      await s.clusters.create(exampleNewCluster({ clusterId: 'second' }));
      expect((await s.clusters.list()).map((x) => x.clusterId).sort()).toEqual(['main', 'second']);
      expect(await rejection(s.clusters.create(exampleNewCluster()))).toMatchObject({ code: 'CONFLICT', reason: 'exists' });
    });

    it('updates under optimistic locking', async () => {
      await s.clusters.create(exampleNewCluster());
      const next = await s.clusters.update('main', 1, { writer: { host: '10.0.0.2', port: 5432 }, readers: [], epoch: 1, lastEventTime: '2030-01-01T00:00:00.000Z' });
      expect(next).toMatchObject({ version: 2, epoch: 1, writer: { host: '10.0.0.2' } });
      expect(await rejection(s.clusters.update('main', 1, { epoch: 2 }))).toBeInstanceOf(VersionConflictError);
      expect(await rejection(s.clusters.update('absent', 1, { epoch: 2 }))).toBeInstanceOf(NotFoundError);
      expect(await s.clusters.get('main')).toEqual(next);
    });

    it('deletes', async () => {
      await s.clusters.create(exampleNewCluster());
      expect(await rejection(s.clusters.delete('main', 5))).toBeInstanceOf(VersionConflictError);
      await s.clusters.delete('main', 1);
      expect(await s.clusters.get('main')).toBeUndefined();
      expect(await rejection(s.clusters.delete('main'))).toBeInstanceOf(NotFoundError);
    });
  });

  describe(`${name}: heartbeats`, () => {
    let s: StoresUnderTest;
    beforeEach(async () => {
      s = await fresh();
    });

    it('upserts per pooler and lists them', async () => {
      const figures = { clientsActive: 3, clientsWaiting: 0, serversActive: 1, serversIdle: 2 };
      await s.heartbeats.put({ poolerId: 'p1', appliedConfigVersion: 4, lastSeen: '2025-01-01T00:00:00.000Z', pools: { 'acme-prod': figures } });
      await s.heartbeats.put({ poolerId: 'p2', instanceId: 'i-0abc', appliedConfigVersion: 4, lastSeen: '2025-01-01T00:00:01.000Z' });
      await s.heartbeats.put({ poolerId: 'p1', appliedConfigVersion: 5, lastSeen: '2025-01-01T00:00:02.000Z', pools: {} });
      const all = await s.heartbeats.list();
      expect(all.map((h) => [h.poolerId, h.appliedConfigVersion]).sort()).toEqual([
        ['p1', 5],
        ['p2', 4],
      ]);
      expect(await s.heartbeats.get('p2')).toMatchObject({ instanceId: 'i-0abc', pools: {} });
      expect(await s.heartbeats.get('p3')).toBeUndefined();
    });
  });

  describe(`${name}: node id leases`, () => {
    let s: StoresUnderTest;
    beforeEach(async () => {
      s = await fresh();
    });
    const T0 = 1_700_000_000_000;
    const lease = (nodeId: number, holder: string, expiresAtMs: number, port = 9128): NodeLease => ({
      nodeId,
      holder: holder.padEnd(16, '0'),
      poolerId: `pooler-${holder}`,
      host: '10.0.0.1',
      port,
      expiresAtMs,
    });

    it('gives a free id to the first claimant only, until its lease expires', async () => {
      expect(await s.nodes.claim(lease(7, 'a', T0 + 60_000), T0)).toBe(true);
      const [first, second] = await race(
        () => s.nodes.claim(lease(7, 'b', T0 + 61_000), T0 + 1000),
        () => s.nodes.claim(lease(7, 'c', T0 + 61_000), T0 + 1000),
      );
      expect([first, second].map((r) => r?.status === 'fulfilled' && r.value)).toEqual([false, false]);
      // Expired: the next claimant takes it over, and the old holder can no longer renew.
      expect(await s.nodes.claim(lease(7, 'b', T0 + 120_000), T0 + 60_000)).toBe(true);
      expect(await s.nodes.claim(lease(7, 'a', T0 + 121_000), T0 + 61_000)).toBe(false);
      expect(await s.nodes.list()).toEqual([lease(7, 'b', T0 + 120_000)]);
    });

    it('lets the holder renew and move its address, and two racers for one free id cannot both win', async () => {
      expect(await s.nodes.claim(lease(3, 'a', T0 + 60_000), T0)).toBe(true);
      expect(await s.nodes.claim(lease(3, 'a', T0 + 80_000, 9200), T0 + 20_000)).toBe(true);
      expect((await s.nodes.list())[0]).toEqual(lease(3, 'a', T0 + 80_000, 9200));
      const results = await race(
        () => s.nodes.claim(lease(4, 'x', T0 + 60_000), T0),
        () => s.nodes.claim(lease(4, 'y', T0 + 60_000), T0),
      );
      expect(results.filter((r) => r.status === 'fulfilled' && r.value)).toHaveLength(1);
    });

    it('release ends only the holder’s own lease, at once', async () => {
      await s.nodes.claim(lease(5, 'a', T0 + 60_000), T0);
      await s.nodes.release(5, 'b'.padEnd(16, '0'));
      expect((await s.nodes.list())[0]?.expiresAtMs).toBe(T0 + 60_000);
      await s.nodes.release(5, 'a'.padEnd(16, '0'));
      expect((await s.nodes.list())[0]?.expiresAtMs).toBe(0);
      expect(await s.nodes.claim(lease(5, 'b', T0 + 70_000), T0 + 10_000)).toBe(true);
      await s.nodes.release(9, 'a'.padEnd(16, '0'));
      expect((await s.nodes.list()).map((l) => l.nodeId)).toEqual([5]);
    });

    it('lists every lease by node id, and refuses ids outside 1..1023', async () => {
      for (const id of [1023, 1, 512]) await s.nodes.claim(lease(id, `h${id}`, T0 + 60_000), T0);
      expect((await s.nodes.list()).map((l) => l.nodeId)).toEqual([1, 512, 1023]);
      expect(await rejection(s.nodes.claim(lease(0, 'z', T0 + 60_000), T0))).toBeInstanceOf(ValidationError);
      expect(await rejection(s.nodes.claim(lease(1024, 'z', T0 + 60_000), T0))).toBeInstanceOf(ValidationError);
    });
  });

  describe(`${name}: budget leases`, () => {
    let s: StoresUnderTest;
    beforeEach(async () => {
      s = await fresh();
    });
    const member = (h: string, expiresAtMs: number, ack = 0) => ({ holder: h.padEnd(16, '0'), poolerId: `pooler-${h}`, expiresAtMs, ack });
    const row = (version: number, generation: number, members: BudgetLeases['members']): BudgetLeases => ({ version, generation, members });

    it('writes the first row only at version 1, then each next version exactly once', async () => {
      expect(await s.budgets.read()).toBeUndefined();
      expect(await s.budgets.write(row(2, 1, [member('a', 1000)]))).toBe(false);
      expect(await s.budgets.write(row(1, 1, [member('a', 1000)]))).toBe(true);
      expect(await s.budgets.write(row(1, 1, [member('b', 1000)]))).toBe(false);
      expect(await s.budgets.read()).toEqual(row(1, 1, [member('a', 1000)]));
      const next = row(2, 2, [member('a', 2000, 1), member('b', 2000)]);
      expect(await s.budgets.write(next)).toBe(true);
      expect(await s.budgets.write(row(2, 2, [member('c', 2000)]))).toBe(false);
      expect(await s.budgets.write(row(4, 2, [member('c', 2000)]))).toBe(false);
      expect(await s.budgets.read()).toEqual(next);
    });

    it('lets exactly one of two writers from the same version win', async () => {
      await s.budgets.write(row(1, 1, [member('a', 1000)]));
      const results = await race(
        () => s.budgets.write(row(2, 2, [member('a', 1000), member('b', 1000)])),
        () => s.budgets.write(row(2, 2, [member('a', 1000), member('c', 1000)])),
      );
      expect(results.filter((r) => r.status === 'fulfilled' && r.value)).toHaveLength(1);
      expect((await s.budgets.read())?.version).toBe(2);
    });

    it('refuses a malformed row', async () => {
      expect(await rejection(s.budgets.write({ version: 0, generation: 1, members: [] }))).toBeInstanceOf(ValidationError);
      expect(await rejection(s.budgets.write(row(1, 1, [{ ...member('a', 1), holder: 'short' }])))).toBeInstanceOf(ValidationError);
    });
  });
}
