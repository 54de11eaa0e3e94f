// Request shapes the failover path sends to AWS (aws-sdk-client-mock): RDS DescribeDBClusters /
// DescribeDBInstances for the named cluster, PutParameter of the cluster targets and of the config
// version under /switchyard/<stage>/, and one SendCommand running the reload on the stage's poolers (role and stage tags).
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetParameterCommand, PutParameterCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RdsTopology } from '../../shared/src/aws/rds-topology.ts';
import { SsmConfigChannel } from '../../shared/src/aws/ssm-config-channel.ts';
import { localTestDeps, type LocalTestDeps } from '../testing/test-deps.ts';
import { rdsEvent } from '../testing/test-events.ts';
import { handleRdsEvent } from './rds-event.ts';

describe('RDS event → AWS requests', () => {
  const rdsMock = mockClient(RDSClient);
  const ssmMock = mockClient(SSMClient);
  const docMock = mockClient(DynamoDBDocumentClient);
  let t: LocalTestDeps;
  beforeEach(async () => {
    rdsMock.reset();
    ssmMock.reset();
    docMock.reset();
    t = await localTestDeps({ now: () => new Date('2030-01-01T12:00:00.000Z') });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('describes the cluster, publishes targets and version, and sends one reload to the tagged poolers', async () => {
    rdsMock.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ DBClusterIdentifier: 'shop-aurora', DBClusterMembers: [{ DBInstanceIdentifier: 'shop-1', IsClusterWriter: false }, { DBInstanceIdentifier: 'shop-2', IsClusterWriter: true }] }],
    });
    rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'shop-1' }).resolves({ DBInstances: [{ DBInstanceStatus: 'available', Endpoint: { Address: 'shop-1.x.rds.amazonaws.com', Port: 5432 } }] });
    rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'shop-2' }).resolves({ DBInstances: [{ DBInstanceStatus: 'available', Endpoint: { Address: 'shop-2.x.rds.amazonaws.com', Port: 5432 } }] });
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    docMock.on(UpdateCommand).resolves({ Attributes: { n: 42 } });

    const ssm = new SSMClient({ region: 'us-east-1' });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const adapters = {
      ...t.deps.adapters,
      config: new SsmConfigChannel({ ssm, doc, table: 'tbl', stage: 'prod', poolerTag: { key: 'switchyard:role', value: 'pooler' } }),
      topology: new RdsTopology({ rds: new RDSClient({ region: 'us-east-1' }) }),
    };
    await adapters.clusters.create({ clusterId: 'shop', kind: 'aurora', writer: { host: 'shop-1.x.rds.amazonaws.com', port: 5432 }, rds: { clusterIdentifier: 'shop-aurora' }, lastEventTime: '2030-01-01T11:00:00.000Z' });

    const r = await handleRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0071', sourceId: 'shop-aurora', date: '2030-01-01T11:59:00.000Z' }), { ...t.deps, adapters });
    expect(r).toMatchObject({ status: 'applied', configVersion: 42 });

    expect(rdsMock.commandCalls(DescribeDBClustersCommand)[0]?.args[0].input).toEqual({ DBClusterIdentifier: 'shop-aurora' });
    const puts = ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Name)).toEqual(['/switchyard/prod/clusters/shop', '/switchyard/prod/config-version']);
    expect(JSON.parse(puts[0]?.Value ?? '{}')).toEqual({
      writer: { host: 'shop-2.x.rds.amazonaws.com', port: 5432 },
      readers: [{ host: 'shop-1.x.rds.amazonaws.com', port: 5432 }],
      epoch: 1,
      eventTime: '2030-01-01T11:59:00.000Z',
    });
    expect(puts[1]?.Value).toBe('42');
    const sends = ssmMock.commandCalls(SendCommandCommand);
    expect(sends).toHaveLength(1);
    expect(sends[0]?.args[0].input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['systemctl reload switchyard'] },
      Targets: [
        { Key: 'tag:switchyard:role', Values: ['pooler'] },
        { Key: 'tag:switchyard:stage', Values: ['prod'] },
      ],
      MaxConcurrency: '100%',
    });
    // Order matters (ports/config-channel.ts): targets, then the version, then the push.
    const order = ssmMock.calls().map((c) => c.args[0].constructor.name).filter((n) => n !== 'GetParameterCommand');
    expect(order).toEqual(['PutParameterCommand', 'PutParameterCommand', 'SendCommandCommand']);
  });
});
