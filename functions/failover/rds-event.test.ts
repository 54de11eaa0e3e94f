// The RDS event handler with local adapters and a scripted topology: which events are handled,
// how an event maps to our clusters, and the epoch rule for same-endpoint switches.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../shared/src/domain/common.ts';
import type { ObservedTopology } from '../../shared/src/domain/writer-change.ts';
import { classifyRdsEvent } from '../../shared/src/domain/rds-events.ts';
import { exampleCluster } from '../../shared/src/testing/examples.ts';
import { localTestDeps, type LocalTestDeps } from '../testing/test-deps.ts';
import { rdsEvent } from '../testing/test-events.ts';
import { clustersForEvent, eventTimeOf, handleRdsEvent, sourceIdentifierOf, type FailoverDeps } from './rds-event.ts';

const ep = (host: string): Endpoint => ({ host, port: 5432 });

describe('RDS event handler', () => {
  let t: LocalTestDeps;
  let deps: FailoverDeps;
  const observed = new Map<string, ObservedTopology>();
  let describes = 0;
  let clock = new Date('2030-01-01T12:00:00.000Z');

  beforeEach(async () => {
    t = await localTestDeps({ now: () => clock });
    describes = 0;
    deps = {
      ...t.deps,
      adapters: {
        ...t.deps.adapters,
        topology: {
          describe: async (c) => {
            describes++;
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
    await t.deps.adapters.clusters.create({ clusterId: 'local', kind: 'static', writer: ep('10.0.0.1'), lastEventTime: '2030-01-01T11:00:00.000Z' });
    observed.set('inst', { writer: ep('inst-db.abc.rds.amazonaws.com'), readers: [] });
    observed.set('aur', { writer: ep('aur-1.abc.rds.amazonaws.com'), readers: [ep('aur-2.abc.rds.amazonaws.com')] });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('ignores events it does not handle, malformed events and other sources, without describing anything', async () => {
    expect(await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0005', sourceId: 'inst-db', sourceType: 'DB_INSTANCE', date: '2030-01-01T11:59:00.000Z' }), deps)).toMatchObject({ status: 'ignored' });
    expect(await handleRdsEvent({ source: 'aws.ec2', 'detail-type': 'x', detail: {} }, deps)).toMatchObject({ status: 'ignored' });
    expect(await handleRdsEvent('nonsense', deps)).toMatchObject({ status: 'ignored' });
    expect(describes).toBe(0);
  });

  it('maps an instance event about an Aurora member to its cluster (instance endpoints carry the identifier)', async () => {
    observed.set('aur', { writer: ep('aur-2.abc.rds.amazonaws.com'), readers: [ep('aur-1.abc.rds.amazonaws.com')] });
    const r = await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0006', sourceId: 'aur-1', sourceType: 'DB_INSTANCE', date: '2030-01-01T11:59:00.000Z' }), deps);
    expect(r.status).toBe('applied');
    expect(r.clusters.map((c) => [c.clusterId, c.epoch, c.writer.host])).toEqual([['aur', 1, 'aur-2.abc.rds.amazonaws.com']]);
    expect(r.configVersion).toBe(1);
  });

  it('records each writer change in the cluster\'s failover history (cause, event time, received, applied), once per event', async () => {
    observed.set('aur', { writer: ep('aur-2.abc.rds.amazonaws.com'), readers: [ep('aur-1.abc.rds.amazonaws.com')] });
    const event = rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'aur-cluster', date: '2030-01-01T11:59:00.000Z' });
    expect((await handleRdsEvent(event, deps)).clusters[0]).toMatchObject({ writerChanged: true, epoch: 1 });
    expect((await handleRdsEvent(event, deps)).clusters[0]).toMatchObject({ changed: false, epoch: 1 });
    const stored = await t.deps.adapters.clusters.get('aur');
    expect(stored?.failovers).toEqual([
      {
        epoch: 1,
        from: ep('aur-1.abc.rds.amazonaws.com'),
        to: ep('aur-2.abc.rds.amazonaws.com'),
        cause: 'RDS-EVENT-0071',
        eventTime: '2030-01-01T11:59:00.000Z',
        receivedAt: '2030-01-01T12:00:00.000Z',
        appliedAt: expect.any(String),
      },
    ]);
    // A change found by the scheduled reconcile is recorded too, after the first.
    observed.set('aur', { writer: ep('aur-1.abc.rds.amazonaws.com'), readers: [ep('aur-2.abc.rds.amazonaws.com')] });
    clock = new Date('2030-01-01T12:05:00.000Z');
    await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'aur-cluster', date: '2030-01-01T12:04:00.000Z' }), deps);
    expect((await t.deps.adapters.clusters.get('aur'))?.failovers?.map((f) => [f.epoch, f.to.host])).toEqual([
      [1, 'aur-2.abc.rds.amazonaws.com'],
      [2, 'aur-1.abc.rds.amazonaws.com'],
    ]);
  });

  it('starts a new epoch for a Multi-AZ failover (same endpoint, new server) exactly once per event', async () => {
    const event = rdsEvent({ eventId: 'RDS-EVENT-0049', sourceId: 'inst-db', sourceType: 'DB_INSTANCE', date: '2030-01-01T11:59:00.000Z' });
    const first = await handleRdsEvent(event, deps);
    expect(first.clusters[0]).toMatchObject({ clusterId: 'inst', writerChanged: true, epoch: 1, published: true });
    const dup = await handleRdsEvent(event, deps);
    expect(dup.clusters[0]).toMatchObject({ changed: false, epoch: 1, published: false });
    expect(dup.configVersion).toBeUndefined();
    // A restart of the same instance is not a switch: no new epoch.
    const restart = await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0006', sourceId: 'inst-db', sourceType: 'DB_INSTANCE', date: '2030-01-01T11:59:30.000Z' }), deps);
    expect(restart.clusters[0]).toMatchObject({ changed: false, epoch: 1 });
    expect((await t.deps.adapters.config.getClusterTargets('inst'))?.epoch).toBe(1);
  });

  it('blue/green: a deployment-level event naming our cluster in its message forces a new epoch there only', async () => {
    const r = await handleRdsEvent(
      rdsEvent({
        eventId: 'RDS-EVENT-0260',
        sourceId: 'bgd-abc123',
        sourceType: 'BLUE_GREEN_DEPLOYMENT',
        date: '2030-01-01T11:58:00.000Z',
        message: 'Switchover from DB cluster aur-cluster to aur-cluster-green-x1 completed. Renamed aur-cluster to aur-cluster-old1 and aur-cluster-green-x1 to aur-cluster.',
      }),
      deps,
    );
    expect(r.clusters.map((c) => [c.clusterId, c.epoch])).toEqual([['aur', 1]]);
    // A deployment-level event naming nothing we know re-checks every RDS cluster but forces nothing.
    const sweep = await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0248', sourceId: 'bgd-zzz', sourceType: 'BLUE_GREEN_DEPLOYMENT', date: '2030-01-01T11:59:00.000Z', message: 'Switchover completed on blue/green deployment.' }), deps);
    expect(sweep.clusters.map((c) => [c.clusterId, c.changed]).sort()).toEqual([
      ['aur', false],
      ['inst', false],
    ]);
  });

  it('an unknown cluster is logged and succeeds', async () => {
    const r = await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'not-ours', date: '2030-01-01T11:59:00.000Z' }), deps);
    expect(r).toEqual({ status: 'unknown-cluster', eventId: 'RDS-EVENT-0071', clusters: [] });
  });

  it('throws (so Lambda retries) when the topology cannot be read', async () => {
    observed.delete('aur');
    await expect(handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'aur-cluster', date: '2030-01-01T11:59:00.000Z' }), deps)).rejects.toThrow(/failed to sync/);
  });
});

describe('RDS event parsing helpers', () => {
  const base = rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'My-Cluster', date: '2030-01-01T11:59:00.250Z' });
  it('takes detail.Date, falls back to the envelope time, and never returns a time after now', () => {
    const now = new Date('2030-01-01T12:00:00.000Z');
    const parse = (e: unknown) => eventTimeOf(e as Parameters<typeof eventTimeOf>[0], now).toISOString();
    expect(parse(base)).toBe('2030-01-01T11:59:00.250Z');
    expect(parse({ ...base, detail: { ...base.detail, Date: undefined } })).toBe('2030-01-01T11:59:00.000Z');
    expect(parse({ ...base, detail: { ...base.detail, Date: '2031-01-01T00:00:00.000Z' } })).toBe('2030-01-01T12:00:00.000Z');
  });
  it('reads the source identifier lower-cased, without an "rds:" prefix, or from the ARN', () => {
    const id = (detail: Record<string, unknown>) => sourceIdentifierOf({ ...base, detail } as Parameters<typeof sourceIdentifierOf>[0]);
    expect(id(base.detail)).toBe('my-cluster');
    expect(id({ SourceIdentifier: 'rds:Inst-1' })).toBe('inst-1');
    expect(id({ SourceArn: 'arn:aws:rds:us-east-1:1:cluster:from-arn' })).toBe('from-arn');
  });
  it('never maps an event to a static cluster', () => {
    const info = classifyRdsEvent('RDS-EVENT-0260');
    if (!info) throw new Error('0260 must be handled');
    const staticOne = exampleCluster({ clusterId: 'st', kind: 'static' });
    expect(clustersForEvent(info, 'bgd-1', 'nothing', [staticOne])).toEqual({ clusters: [], named: false });
  });
});
