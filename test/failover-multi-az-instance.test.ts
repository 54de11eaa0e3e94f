// Multi-AZ DB instance failover against moto: the instance keeps its endpoint name while a
// different server takes over, so the "failover completed" event starts a new epoch (poolers drop
// their connections to the old server) — once; "failover started" starts no epoch, it marks the
// cluster switching (a planned switchover: poolers hold new transactions), and "completed" clears it.
import { CreateDBInstanceCommand, RDSClient, RebootDBInstanceCommand } from '@aws-sdk/client-rds';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeRdsEvent } from '../functions/failover/rds-event.ts';
import type { Deps } from '../functions/lib/deps.ts';
import { awsTestDeps, field, invoke } from '../functions/testing/test-deps.ts';
import { lambdaContext, rdsEvent } from '../functions/testing/test-events.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('failover: Multi-AZ DB instance against moto', () => {
  useMoto();
  let deps: Deps;
  let cleanup: () => Promise<void>;
  let rds: RDSClient;
  let ssm: SSMClient;
  let clock = new Date('2030-05-01T09:00:00.000Z');

  beforeAll(async () => {
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-maz');
    dynamodb.destroy();
    ({ deps, cleanup } = await awsTestDeps({ table: 'switchyard-maz', stage: 'maz', now: () => clock }));
    rds = new RDSClient({});
    ssm = new SSMClient({});
  });
  afterAll(async () => {
    rds.destroy();
    ssm.destroy();
    await cleanup();
  });

  const targets = async () => JSON.parse((await ssm.send(new GetParameterCommand({ Name: '/switchyard/maz/clusters/billing' }))).Parameter?.Value ?? '{}') as { writer: { host: string }; epoch: number; switching?: unknown };
  const send = (eventId: string, date: string) => makeRdsEvent(deps)(rdsEvent({ eventId, sourceId: 'billing-db', sourceType: 'DB_INSTANCE', date }) as never, lambdaContext());

  it('starts one new epoch per completed failover, keeping the endpoint', async () => {
    await rds.send(
      new CreateDBInstanceCommand({ DBInstanceIdentifier: 'billing-db', Engine: 'postgres', DBInstanceClass: 'db.m6g.large', MultiAZ: true, AllocatedStorage: 20, MasterUsername: 'admin', MasterUserPassword: 'admin-password' }),
    );
    const res = await invoke(makeCreateCluster(deps), { method: 'POST', path: '/clusters', body: { clusterId: 'billing', kind: 'rds-instance', rds: { instanceIdentifier: 'billing-db' } } });
    expect(res.status).toBe(201);
    const host = field<string>(res.body, 'writer', 'host');
    expect(host).toMatch(/^billing-db\./);

    clock = new Date('2030-05-01T10:00:30.000Z');
    await send('RDS-EVENT-0013', '2030-05-01T10:00:00.000Z');
    // "Started": no new epoch, but the cluster is marked switching (poolers hold new transactions).
    expect(await targets()).toMatchObject({ epoch: 0, switching: { since: '2030-05-01T10:00:00.000Z', cause: 'RDS-EVENT-0013' } });

    await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'billing-db', ForceFailover: true }));
    const done = await send('RDS-EVENT-0049', '2030-05-01T10:00:25.000Z');
    expect(done).toMatchObject({ status: 'applied' });
    expect(await targets()).toMatchObject({ epoch: 1, writer: { host } });
    expect(await targets()).not.toHaveProperty('switching');

    // Delivered again: no second epoch.
    await send('RDS-EVENT-0049', '2030-05-01T10:00:25.000Z');
    expect(await targets()).toMatchObject({ epoch: 1 });
  });
});
