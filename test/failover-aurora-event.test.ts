// Aurora failover end to end against moto: FailoverDBCluster, then the RDS event → the cluster's
// SSM parameter names the new writer, the epoch grew, the config version was bumped and a reload
// sent to the stage's poolers (role and stage tags). The same event twice, and an older event after a newer one, leave the
// state right; the minute reconcile repairs what no event reported. Each test has its own cluster.
import { CreateDBClusterCommand, CreateDBInstanceCommand, FailoverDBClusterCommand, RDSClient } from '@aws-sdk/client-rds';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeRdsEvent } from '../functions/failover/rds-event.ts';
import { makeHandler as makeReconcile } from '../functions/failover/reconcile.ts';
import type { Deps } from '../functions/lib/deps.ts';
import { awsTestDeps, field, invoke } from '../functions/testing/test-deps.ts';
import { lambdaContext, rdsEvent } from '../functions/testing/test-events.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('failover: Aurora cluster failover event against moto', () => {
  useMoto();
  let deps: Deps;
  let cleanup: () => Promise<void>;
  let rds: RDSClient;
  let ssm: SSMClient;
  const stage = 'failtest';
  // A controllable clock: event times are clamped to "now"; clusters are registered at 09:00.
  let clock = new Date('2030-03-01T09:00:00.000Z');

  beforeAll(async () => {
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-failover');
    dynamodb.destroy();
    ({ deps, cleanup } = await awsTestDeps({ table: 'switchyard-failover', stage, poolerTag: 'switchyard:role=pooler', now: () => clock }));
    rds = new RDSClient({});
    ssm = new SSMClient({});
  });
  afterAll(async () => {
    rds.destroy();
    ssm.destroy();
    await cleanup();
  });

  /** An Aurora cluster `<name>-aurora` with instances `<name>-a` (writer) and `<name>-b`, registered as cluster `<name>`. */
  async function auroraCluster(name: string): Promise<void> {
    clock = new Date('2030-03-01T09:00:00.000Z');
    await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: `${name}-aurora`, Engine: 'aurora-postgresql', MasterUsername: 'admin', MasterUserPassword: 'admin-password' }));
    for (const id of [`${name}-a`, `${name}-b`]) {
      await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: id, DBClusterIdentifier: `${name}-aurora`, Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.large' }));
    }
    const res = await invoke(makeCreateCluster(deps), { method: 'POST', path: '/clusters', body: { clusterId: name, kind: 'aurora', rds: { clusterIdentifier: `${name.toUpperCase()}-Aurora` } } });
    expect(res.status).toBe(201);
    expect(field<string>(res.body, 'writer', 'host')).toMatch(new RegExp(`^${name}-a\\.`));
    expect(field(res.body, 'rds')).toEqual({ clusterIdentifier: `${name}-aurora` });
  }
  const failover = (name: string, to: 'a' | 'b') => rds.send(new FailoverDBClusterCommand({ DBClusterIdentifier: `${name}-aurora`, TargetDBInstanceIdentifier: `${name}-${to}` }));
  const targets = async (name: string) =>
    JSON.parse((await ssm.send(new GetParameterCommand({ Name: `/switchyard/${stage}/clusters/${name}` }))).Parameter?.Value ?? '{}') as { writer: { host: string }; epoch: number; eventTime: string };
  const writerOf = async (name: string) => (await targets(name)).writer.host.split('.')[0];
  const configVersion = async () => Number((await ssm.send(new GetParameterCommand({ Name: `/switchyard/${stage}/config-version` }))).Parameter?.Value);
  const send = (name: string, eventId: string, date: string) =>
    makeRdsEvent(deps)(rdsEvent({ eventId, sourceId: `${name}-aurora`, sourceType: 'CLUSTER', date }) as never, lambdaContext());

  it('a failover event moves the writer, grows the epoch, bumps the version and pushes a reload to the stage’s poolers (role and stage tags)', async () => {
    await auroraCluster('orders');
    expect(await targets('orders')).toMatchObject({ epoch: 0 });
    await failover('orders', 'b');
    clock = new Date('2030-03-01T10:00:10.000Z');
    const before = await configVersion();
    const result = await send('orders', 'RDS-EVENT-0071', '2030-03-01T10:00:05.123Z');
    expect(result).toMatchObject({ status: 'applied', eventId: 'RDS-EVENT-0071' });
    expect(await writerOf('orders')).toBe('orders-b');
    expect(await targets('orders')).toMatchObject({ epoch: 1, eventTime: '2030-03-01T10:00:05.123Z' });
    expect(await configVersion()).toBe(before + 1);
    const stored = await deps.adapters.clusters.get('orders');
    expect(stored?.epoch).toBe(1);
    expect(stored?.readers.map((r) => r.host.split('.')[0])).toEqual(['orders-a']);

    const commands = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    const reload = commands.find((c) => c.DocumentName === 'AWS-RunShellScript');
    expect(reload?.Targets).toEqual([
      { Key: 'tag:switchyard:role', Values: ['pooler'] },
      { Key: 'tag:switchyard:stage', Values: [stage] },
    ]);
    expect(reload?.Parameters?.commands).toEqual(['systemctl reload switchyard']);
  });

  it('the same event delivered twice changes nothing the second time', async () => {
    await auroraCluster('twice');
    await failover('twice', 'b');
    clock = new Date('2030-03-01T10:00:10.000Z');
    await send('twice', 'RDS-EVENT-0071', '2030-03-01T10:00:05.123Z');
    const before = await configVersion();
    await send('twice', 'RDS-EVENT-0071', '2030-03-01T10:00:05.123Z');
    expect(await targets('twice')).toMatchObject({ epoch: 1 });
    expect(await writerOf('twice')).toBe('twice-b');
    expect(await configVersion()).toBe(before);
  });

  it('an event older than the last applied one is ignored; the reconcile then repairs the drift', async () => {
    await auroraCluster('late');
    await failover('late', 'b');
    clock = new Date('2030-03-01T10:00:10.000Z');
    await send('late', 'RDS-EVENT-0071', '2030-03-01T10:00:05.000Z');
    // The writer moves back, but the only event we get is an old, late one (the "started" event
    // of the first failover arriving after its "completed").
    await failover('late', 'a');
    await send('late', 'RDS-EVENT-0073', '2030-03-01T10:00:01.000Z');
    expect(await writerOf('late')).toBe('late-b');
    expect(await targets('late')).toMatchObject({ epoch: 1 });

    clock = new Date('2030-03-01T10:05:00.000Z');
    const before = await configVersion();
    const result = await makeReconcile(deps)({} as never, lambdaContext());
    expect(result.changed).toContain('late');
    expect(result.failed).toEqual([]);
    expect(await writerOf('late')).toBe('late-a');
    expect(await targets('late')).toMatchObject({ epoch: 2 });
    expect(await configVersion()).toBe(before + 1);

    // Nothing left to repair: a second run is a no-op.
    const again = await makeReconcile(deps)({} as never, lambdaContext());
    expect(again.changed).toEqual([]);
    expect(await configVersion()).toBe(before + 1);
  });

  it('an event for a cluster we do not manage succeeds without touching anything', async () => {
    const before = await configVersion().catch(() => 0);
    const r = await makeRdsEvent(deps)(rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'someone-elses-cluster', date: '2030-03-01T11:00:00.000Z' }) as never, lambdaContext());
    expect(r).toMatchObject({ status: 'unknown-cluster' });
    expect(await configVersion().catch(() => 0)).toBe(before);
  });
});
