// syncCluster: the epoch rule under a concurrent writer (optimistic-lock retry) and the repair of
// published targets that lag behind the store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../shared/src/domain/common.ts';
import type { ClusterStore } from '../../shared/src/ports/store.ts';
import { createLogger } from '../lib/logger.ts';
import { localTestDeps, type LocalTestDeps } from '../testing/test-deps.ts';
import { syncCluster } from './sync-cluster.ts';

const ep = (host: string): Endpoint => ({ host, port: 5432 });
const log = createLogger({ level: 'silent' });

describe('syncCluster', () => {
  let t: LocalTestDeps;
  beforeEach(async () => {
    t = await localTestDeps();
    await t.deps.adapters.clusters.create({ clusterId: 'c1', kind: 'aurora', writer: ep('a'), readers: [ep('b')], rds: { clusterIdentifier: 'c1' }, lastEventTime: '2030-01-01T00:00:00.000Z' });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const topology = (writer: string, readers: string[]) => ({ describe: async () => ({ writer: ep(writer), readers: readers.map(ep) }) });

  it('re-reads and re-applies when a concurrent event updated the cluster first (one epoch per move)', async () => {
    const real = t.deps.adapters.clusters;
    let raced = false;
    // The first update loses the race against a twin event that applied the same failover.
    const clusters: ClusterStore = {
      ...real,
      get: (id) => real.get(id),
      list: () => real.list(),
      create: (c) => real.create(c),
      delete: (id, v) => real.delete(id, v),
      update: async (id, version, patch) => {
        if (!raced) {
          raced = true;
          await real.update(id, version, { writer: ep('b'), readers: [ep('a')], epoch: 1, lastEventTime: '2030-01-01T00:01:00.000Z' });
        }
        return real.update(id, version, patch);
      },
    };
    const initial = await real.get('c1');
    if (!initial) throw new Error('missing');
    const out = await syncCluster({ clusters, topology: topology('b', ['a']), config: t.deps.adapters.config }, initial, new Date('2030-01-01T00:01:00.000Z'), log);
    expect(out).toMatchObject({ changed: false, epoch: 1, writer: ep('b'), published: true });
    expect((await real.get('c1'))?.epoch).toBe(1);
  });

  it('republishes targets that lag behind the store even when the topology did not move', async () => {
    const c = await t.deps.adapters.clusters.get('c1');
    if (!c) throw new Error('missing');
    const first = await syncCluster({ ...t.deps.adapters, topology: topology('a', ['b']) }, c, new Date('2030-01-01T00:02:00.000Z'), log);
    expect(first).toMatchObject({ changed: false, published: true });
    expect(await t.deps.adapters.config.getClusterTargets('c1')).toMatchObject({ writer: ep('a'), epoch: 0 });
    const second = await syncCluster({ ...t.deps.adapters, topology: topology('a', ['b']) }, c, new Date('2030-01-01T00:03:00.000Z'), log);
    expect(second).toMatchObject({ changed: false, published: false });
  });

  it('keeps the stored writer while no member is a writer (mid-failover)', async () => {
    const c = await t.deps.adapters.clusters.get('c1');
    if (!c) throw new Error('missing');
    const out = await syncCluster({ ...t.deps.adapters, topology: { describe: async () => ({ writer: null, readers: [ep('b')] }) } }, c, new Date('2030-01-01T00:02:00.000Z'), log, { forceNewEpoch: true });
    expect(out).toMatchObject({ changed: false, epoch: 0, writer: ep('a') });
  });
});
