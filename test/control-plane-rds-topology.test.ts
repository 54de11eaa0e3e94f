// RDS topology against moto: an Aurora cluster with two instances reports its writer instance,
// and after FailoverDBCluster the new one; a single instance reports its endpoint.
import { CreateDBClusterCommand, CreateDBInstanceCommand, DescribeDBInstancesCommand, FailoverDBClusterCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RdsTopology } from '../shared/src/aws/rds-topology.ts';
import { applyWriterChange } from '../shared/src/domain/writer-change.ts';
import { exampleCluster } from '../shared/src/testing/examples.ts';
import { describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('RDS topology (moto)', () => {
  useMoto();
  let rds: RDSClient;
  beforeAll(() => {
    rds = new RDSClient({});
  });
  afterAll(() => rds?.destroy());

  async function endpointOf(id: string) {
    const res = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const e = res.DBInstances?.[0]?.Endpoint;
    return { host: e?.Address ?? '', port: e?.Port ?? 0 };
  }

  it('follows the Aurora writer through a failover', async () => {
    await rds.send(
      new CreateDBClusterCommand({
        DBClusterIdentifier: 'orders',
        Engine: 'aurora-postgresql',
        MasterUsername: 'postgres',
        MasterUserPassword: 'not-a-real-password',
      }),
    );
    for (const id of ['orders-1', 'orders-2']) {
      await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: id, DBClusterIdentifier: 'orders', Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.large' }));
    }
    const one = await endpointOf('orders-1');
    const two = await endpointOf('orders-2');
    expect(one.host).not.toBe(two.host);

    const topology = new RdsTopology({ rds });
    const cluster = exampleCluster({ kind: 'aurora', rds: { clusterIdentifier: 'orders' }, writer: one, readers: [two] });
    const before = await topology.describe(cluster);
    expect(before).toEqual({ writer: one, readers: [two] });

    await rds.send(new FailoverDBClusterCommand({ DBClusterIdentifier: 'orders', TargetDBInstanceIdentifier: 'orders-2' }));
    const after = await topology.describe(cluster);
    expect(after).toEqual({ writer: two, readers: [one] });

    // And the domain rule turns it into a new epoch.
    const r = applyWriterChange(cluster, after, new Date(Date.parse(cluster.lastEventTime) + 1000));
    expect(r.changed).toBe(true);
    expect(r.cluster.epoch).toBe(cluster.epoch + 1);
    expect(r.cluster.writer).toEqual(two);
  });

  it('reports a single RDS instance as the writer', async () => {
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'billing',
        Engine: 'postgres',
        DBInstanceClass: 'db.t4g.micro',
        MasterUsername: 'postgres',
        MasterUserPassword: 'not-a-real-password',
        AllocatedStorage: 20,
      }),
    );
    const e = await endpointOf('billing');
    const topology = new RdsTopology({ rds });
    const observed = await topology.describe(exampleCluster({ kind: 'rds-instance', rds: { instanceIdentifier: 'billing' } }));
    expect(observed).toEqual({ writer: e, readers: [] });
  });

  it('reports a static cluster without members as stored, without calling RDS', async () => {
    const cluster = exampleCluster();
    expect(await new RdsTopology({ rds }).describe(cluster)).toEqual({ writer: cluster.writer, readers: cluster.readers });
  });
});
