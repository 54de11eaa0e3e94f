import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { exampleCluster } from '../testing/examples.ts';
import { RdsTopology } from './rds-topology.ts';

describe('RDS topology requests', () => {
  const cfg = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
  const rds = new RDSClient(cfg);
  const mock = mockClient(rds);
  beforeEach(() => mock.reset());
  const aurora = exampleCluster({ kind: 'aurora', rds: { clusterIdentifier: 'orders' } });

  function instances(map: Record<string, { host?: string; status?: string }>) {
    for (const [id, v] of Object.entries(map)) {
      mock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: id }).resolves({
        DBInstances: [{ DBInstanceIdentifier: id, DBInstanceStatus: v.status ?? 'available', ...(v.host ? { Endpoint: { Address: v.host, Port: 5432 } } : {}) }],
      });
    }
  }

  it('takes the member flagged IsClusterWriter as writer, by its instance endpoint', async () => {
    mock.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ DBClusterMembers: [{ DBInstanceIdentifier: 'a', IsClusterWriter: false }, { DBInstanceIdentifier: 'b', IsClusterWriter: true }] }],
    });
    instances({ a: { host: 'a.rds' }, b: { host: 'b.rds' } });
    expect(await new RdsTopology({ rds }).describe(aurora)).toEqual({ writer: { host: 'b.rds', port: 5432 }, readers: [{ host: 'a.rds', port: 5432 }] });
    expect(mock.commandCalls(DescribeDBClustersCommand)[0]?.args[0].input).toEqual({ DBClusterIdentifier: 'orders' });
  });

  it('reports no writer mid-failover, and skips readers without endpoint or being deleted', async () => {
    mock.on(DescribeDBClustersCommand).resolves({
      DBClusters: [
        {
          DBClusterMembers: [
            { DBInstanceIdentifier: 'a', IsClusterWriter: false },
            { DBInstanceIdentifier: 'b', IsClusterWriter: false },
            { DBInstanceIdentifier: 'c', IsClusterWriter: false },
          ],
        },
      ],
    });
    instances({ a: { host: 'a.rds' }, b: {}, c: { host: 'c.rds', status: 'deleting' } });
    expect(await new RdsTopology({ rds }).describe(aurora)).toEqual({ writer: null, readers: [{ host: 'a.rds', port: 5432 }] });
  });

  it('uses a client of the cluster’s region when it differs', async () => {
    const other = new RDSClient({ ...cfg, region: 'eu-west-1' });
    const otherMock = mockClient(other);
    otherMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'available', Endpoint: { Address: 'x.eu', Port: 5432 } }] });
    const regions: string[] = [];
    const topology = new RdsTopology({ rds, clientForRegion: (r) => (regions.push(r), other) });
    const c = exampleCluster({ kind: 'rds-instance', rds: { instanceIdentifier: 'x', region: 'eu-west-1' } });
    expect(await topology.describe(c)).toEqual({ writer: { host: 'x.eu', port: 5432 }, readers: [] });
    await topology.describe(c);
    expect(regions).toEqual(['eu-west-1']);
    expect(mock.calls()).toHaveLength(0);
  });
});
