// Every reconcile run publishes StalePoolers{Stage} as one EMF line: the live poolers (heartbeat
// within 300 s) whose applied config version differs from the fleet's, zero included.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HeartbeatStore } from '../../shared/src/ports/store.ts';
import { localTestDeps, type LocalTestDeps } from '../testing/test-deps.ts';
import { reconcile } from './reconcile.ts';

const now = new Date('2030-03-01T10:00:00.000Z');
const ago = (s: number): string => new Date(now.getTime() - s * 1000).toISOString();

describe('reconcile: StalePoolers metric', () => {
  let t: LocalTestDeps;
  let lines: string[];
  beforeEach(async () => {
    t = await localTestDeps({ now: () => now });
    lines = [];
  });
  afterEach(async () => {
    await t.cleanup();
  });
  const run = (deps = t.deps) => reconcile({ ...deps, stage: 'teststage', writeMetric: (l) => lines.push(l) });

  it('publishes the number of live poolers behind the config version as an EMF line', async () => {
    const v = await t.deps.adapters.config.bumpConfigVersion();
    const hb = t.deps.adapters.heartbeats;
    await hb.put({ poolerId: 'up-to-date', appliedConfigVersion: v, lastSeen: ago(5) });
    await hb.put({ poolerId: 'behind', appliedConfigVersion: v - 1, lastSeen: ago(5) });
    await hb.put({ poolerId: 'behind-at-the-limit', appliedConfigVersion: 0, lastSeen: ago(300) });
    await hb.put({ poolerId: 'replaced-instance', appliedConfigVersion: 0, lastSeen: ago(301) });

    const result = await run();
    expect(result.stalePoolers).toBe(2);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      _aws: {
        Timestamp: now.getTime(),
        CloudWatchMetrics: [{ Namespace: 'Switchyard', Dimensions: [['Stage']], Metrics: [{ Name: 'StalePoolers', Unit: 'Count' }] }],
      },
      Stage: 'teststage',
      StalePoolers: 2,
    });
  });

  it('publishes zero when the fleet has converged (and with no clusters to check)', async () => {
    const v = await t.deps.adapters.config.bumpConfigVersion();
    await t.deps.adapters.heartbeats.put({ poolerId: 'p1', appliedConfigVersion: v, lastSeen: ago(1) });
    const result = await run();
    expect(result.checked).toBe(0);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((o) => o.StalePoolers)).toEqual([0]);
  });

  it('takes the Stage from SWITCHYARD_STAGE when the deps do not name one', async () => {
    const before = process.env.SWITCHYARD_STAGE;
    process.env.SWITCHYARD_STAGE = 'from-env';
    try {
      await reconcile({ ...t.deps, writeMetric: (l) => lines.push(l) });
    } finally {
      if (before === undefined) delete process.env.SWITCHYARD_STAGE;
      else process.env.SWITCHYARD_STAGE = before;
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({ Stage: 'from-env' });
  });

  it('when the heartbeats cannot be read: no datapoint (the alarm treats missing as breaching), the clusters are still reconciled, the run fails', async () => {
    const broken: HeartbeatStore = { ...t.deps.adapters.heartbeats, list: () => Promise.reject(new Error('table unavailable')) };
    const deps = { ...t.deps, adapters: { ...t.deps.adapters, heartbeats: broken } };
    let listed = false;
    const clusters = {
      ...deps.adapters.clusters,
      list: async () => {
        listed = true;
        return [];
      },
    };
    await expect(run({ ...deps, adapters: { ...deps.adapters, clusters } })).rejects.toThrow(AggregateError);
    expect(listed).toBe(true);
    expect(lines).toEqual([]);
  });
});
