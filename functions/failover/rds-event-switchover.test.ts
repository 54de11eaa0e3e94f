// Planned switchover in the RDS event handler (local adapters, scripted topology): which events
// start and end a switch per kind, the `switching` mark stored and published with the targets,
// and the rules that keep a late, duplicated or unnamed event from pausing or releasing a cluster.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../shared/src/domain/common.ts';
import { classifyRdsEvent, rdsEventPattern } from '../../shared/src/domain/rds-events.ts';
import type { ObservedTopology } from '../../shared/src/domain/writer-change.ts';
import { clusterView } from '../lib/views.ts';
import { localTestDeps, type LocalTestDeps } from '../testing/test-deps.ts';
import { rdsEvent } from '../testing/test-events.ts';
import { handleRdsEvent, type FailoverDeps } from './rds-event.ts';
import { syncCluster } from './sync-cluster.ts';

const ep = (host: string): Endpoint => ({ host, port: 5432 });

describe('RDS events: started / completed per kind', () => {
  it.each([
    ['RDS-EVENT-0072', 'cluster-failover', 'started'],
    ['RDS-EVENT-0073', 'cluster-failover', 'started'],
    ['RDS-EVENT-0071', 'cluster-failover', 'completed'],
    ['RDS-EVENT-0069', 'cluster-failover', 'aborted'],
    ['RDS-EVENT-0070', 'cluster-failover', 'aborted'],
    ['RDS-EVENT-0013', 'instance-failover', 'started'],
    ['RDS-EVENT-0015', 'instance-failover', 'completed'],
    ['RDS-EVENT-0049', 'instance-failover', 'completed'],
    ['RDS-EVENT-0006', 'instance-restart', 'hint'],
    ['RDS-EVENT-0247', 'blue-green-switchover', 'started'],
    ['RDS-EVENT-0248', 'blue-green-switchover', 'completed'],
    ['RDS-EVENT-0249', 'blue-green-switchover', 'aborted'],
    ['RDS-EVENT-0250', 'blue-green-switchover', 'started'],
    ['RDS-EVENT-0251', 'blue-green-switchover', 'completed'],
    ['RDS-EVENT-0252', 'blue-green-switchover', 'aborted'],
    ['RDS-EVENT-0259', 'blue-green-switchover', 'started'],
    ['RDS-EVENT-0260', 'blue-green-switchover', 'completed'],
    ['RDS-EVENT-0261', 'blue-green-switchover', 'aborted'],
  ])('%s is a %s event, phase %s, and the EventBridge rule routes it', (id, kind, phase) => {
    expect(classifyRdsEvent(id)).toMatchObject({ kind, phase });
    expect(rdsEventPattern().detail.EventID).toContain(id);
  });
});

describe('RDS event handler: planned switchover', () => {
  let t: LocalTestDeps;
  let deps: FailoverDeps;
  const observed = new Map<string, ObservedTopology>();
  let clock = new Date('2030-01-01T12:00:00.000Z');

  beforeEach(async () => {
    t = await localTestDeps({ now: () => clock });
    deps = {
      ...t.deps,
      adapters: {
        ...t.deps.adapters,
        topology: {
          describe: async (c) => {
            const o = observed.get(c.clusterId);
            if (!o) throw new Error(`no scripted topology for ${c.clusterId}`);
            return o;
          },
        },
      },
    };
    clock = new Date('2030-01-01T12:00:00.000Z');
    await t.deps.adapters.clusters.create({ clusterId: 'inst', kind: 'rds-instance', writer: ep('inst-db.abc.rds.amazonaws.com'), rds: { instanceIdentifier: 'inst-db' }, lastEventTime: '2030-01-01T11:00:00.000Z' });
    await t.deps.adapters.clusters.create({ clusterId: 'aur', kind: 'aurora', writer: ep('aur-1.abc.rds.amazonaws.com'), readers: [ep('aur-2.abc.rds.amazonaws.com')], rds: { clusterIdentifier: 'aur-cluster' }, lastEventTime: '2030-01-01T11:00:00.000Z' });
    observed.set('inst', { writer: ep('inst-db.abc.rds.amazonaws.com'), readers: [] });
    observed.set('aur', { writer: ep('aur-1.abc.rds.amazonaws.com'), readers: [ep('aur-2.abc.rds.amazonaws.com')] });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const stored = async (id: string) => (await t.deps.adapters.clusters.get(id))!;
  const published = async (id: string) => (await t.deps.adapters.config.getClusterTargets(id))!;
  const send = (eventId: string, sourceId: string, date: string, sourceType: 'DB_INSTANCE' | 'CLUSTER' | 'BLUE_GREEN_DEPLOYMENT' = 'DB_INSTANCE') =>
    handleRdsEvent(rdsEvent({ eventId, sourceId, sourceType, date }), deps);

  it('Multi-AZ reboot with failover: "started" marks and publishes, a restart keeps the mark, "completed" starts a new epoch and clears it', async () => {
    const started = await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:50.000Z');
    expect(started.configVersion).toBe(1);
    expect((await stored('inst')).switching).toEqual({ since: '2030-01-01T11:59:50.000Z', cause: 'RDS-EVENT-0013' });
    expect(await published('inst')).toMatchObject({ epoch: 0, switching: { since: '2030-01-01T11:59:50.000Z', cause: 'RDS-EVENT-0013' } });
    // GET /clusters/{id} shows it.
    expect(clusterView(await stored('inst')).switching).toEqual({ since: '2030-01-01T11:59:50.000Z', cause: 'RDS-EVENT-0013' });

    await send('RDS-EVENT-0006', 'inst-db', '2030-01-01T11:59:55.000Z');
    expect((await published('inst')).switching).toBeDefined();

    const done = await send('RDS-EVENT-0049', 'inst-db', '2030-01-01T11:59:58.000Z');
    expect(done.clusters[0]).toMatchObject({ epoch: 1, switching: false });
    expect((await stored('inst')).switching).toBeNull();
    expect(clusterView(await stored('inst'))).not.toHaveProperty('switching');
    const p = await published('inst');
    expect(p.epoch).toBe(1);
    expect(p.switching).toBeUndefined();
  });

  it('Aurora failover: 0073 marks the cluster; 0071 with the new writer clears the mark with the new epoch', async () => {
    await send('RDS-EVENT-0073', 'aur-cluster', '2030-01-01T11:59:50.000Z', 'CLUSTER');
    expect((await published('aur')).switching?.cause).toBe('RDS-EVENT-0073');
    observed.set('aur', { writer: ep('aur-2.abc.rds.amazonaws.com'), readers: [ep('aur-1.abc.rds.amazonaws.com')] });
    await send('RDS-EVENT-0071', 'aur-cluster', '2030-01-01T11:59:59.000Z', 'CLUSTER');
    const p = await published('aur');
    expect(p).toMatchObject({ epoch: 1, writer: ep('aur-2.abc.rds.amazonaws.com') });
    expect(p.switching).toBeUndefined();
  });

  it('blue/green: the instance-level "started" marks, "canceled" clears without a new epoch; deployment-level events that name no cluster pause nothing', async () => {
    await send('RDS-EVENT-0247', 'bgd-abc123', '2030-01-01T11:59:40.000Z', 'BLUE_GREEN_DEPLOYMENT');
    expect((await stored('inst')).switching ?? undefined).toBeUndefined();
    expect((await stored('aur')).switching ?? undefined).toBeUndefined();
    await send('RDS-EVENT-0250', 'inst-db', '2030-01-01T11:59:50.000Z');
    expect((await published('inst')).switching?.cause).toBe('RDS-EVENT-0250');
    await send('RDS-EVENT-0252', 'inst-db', '2030-01-01T11:59:55.000Z');
    const p = await published('inst');
    expect(p.epoch).toBe(0);
    expect(p.switching).toBeUndefined();
  });

  it('a duplicated "started" changes nothing, a later one moves the mark forward; a late "completed" of an earlier switch does not end a later one; a "started" older than the last change marks nothing', async () => {
    await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:50.000Z');
    expect((await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:50.000Z')).configVersion).toBeUndefined();
    await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:49.000Z');
    expect((await stored('inst')).switching?.since).toBe('2030-01-01T11:59:50.000Z');
    await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:52.000Z');
    expect((await stored('inst')).switching?.since).toBe('2030-01-01T11:59:52.000Z');
    // A completed event dated before this switch began (delivered late) leaves the mark.
    await send('RDS-EVENT-0049', 'inst-db', '2030-01-01T11:59:51.000Z');
    expect((await published('inst')).switching?.since).toBe('2030-01-01T11:59:52.000Z');
    await send('RDS-EVENT-0049', 'inst-db', '2030-01-01T11:59:59.000Z');
    expect((await published('inst')).switching).toBeUndefined();
    // The started event delivered again after the switch completed: too old, nothing is paused.
    const late = await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:50.000Z');
    expect(late.configVersion).toBeUndefined();
    expect((await published('inst')).switching).toBeUndefined();
  });

  it('a "started" event older than the upper bound of switchover_timeout marks nothing, and the reconcile removes a stale mark', async () => {
    await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:54:00.000Z');
    expect((await stored('inst')).switching ?? undefined).toBeUndefined();
    await send('RDS-EVENT-0013', 'inst-db', '2030-01-01T11:59:00.000Z');
    expect((await stored('inst')).switching).toBeTruthy();
    const later = new Date('2030-01-01T12:05:01.000Z');
    await syncCluster(deps.adapters, await stored('inst'), later, deps.log);
    expect((await stored('inst')).switching).toBeNull();
    expect((await published('inst')).switching).toBeUndefined();
  });
});
