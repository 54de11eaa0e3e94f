// The DynamoDB store adapters against moto: the same behaviour contract as the local file store,
// plus the item layout the stack and operators rely on.
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { HEARTBEAT_SHAPE_TEXT_BYTES, HEARTBEAT_SHAPES_PER_TENANT, HEARTBEAT_SHAPES_TOTAL } from '../shared/src/domain/heartbeat.ts';
import { DYNAMO_ITEM_MAX_BYTES, dynamoItemSize } from '../shared/src/domain/dynamo-item-size.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exampleNewTenant } from '../shared/src/testing/examples.ts';
import { documentClient } from '../shared/src/aws/adapters.ts';
import { DynamoBudgetLeaseStore } from '../shared/src/aws/dynamo-budget-leases.ts';
import { DynamoNodeLeaseStore } from '../shared/src/aws/dynamo-node-leases.ts';
import { DynamoClusterStore, DynamoHeartbeatStore, DynamoTenantStore } from '../shared/src/aws/dynamo-store.ts';
import { describeStoreContract } from '../shared/src/testing/store-contract.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('DynamoDB store (moto)', () => {
  useMoto();
  let dynamodb: DynamoDBClient;
  let n = 0;
  beforeAll(() => {
    dynamodb = new DynamoDBClient({});
  });
  afterAll(() => dynamodb?.destroy());

  async function fresh() {
    const table = `switchyard-${n++}`;
    await createSwitchyardTable(dynamodb, table);
    const opts = { doc: documentClient(dynamodb), table };
    return { table, tenants: new DynamoTenantStore(opts), clusters: new DynamoClusterStore(opts), heartbeats: new DynamoHeartbeatStore(opts), nodes: new DynamoNodeLeaseStore(opts), budgets: new DynamoBudgetLeaseStore(opts) };
  }

  // moto does not make conditional writes atomic against each other (see ContractOptions).
  describeStoreContract('dynamodb', fresh, { linearizable: false });

  it('stores the tenant, its login guard and its byCluster index entry under the agreed keys', async () => {
    const s = await fresh();
    await s.tenants.create(exampleNewTenant());
    const tenantRow = await dynamodb.send(new GetItemCommand({ TableName: s.table, Key: { pk: { S: 'TENANT#acme-prod' }, sk: { S: 'TENANT' } } }));
    expect(tenantRow.Item?.version).toEqual({ N: '1' });
    expect(tenantRow.Item?.client?.M?.database).toEqual({ S: 'acme' });
    const loginRow = await dynamodb.send(new GetItemCommand({ TableName: s.table, Key: { pk: { S: 'LOGIN#acme#app' }, sk: { S: 'LOGIN' } } }));
    expect(loginRow.Item?.tenantId).toEqual({ S: 'acme-prod' });
    const byCluster = await dynamodb.send(
      new QueryCommand({
        TableName: s.table,
        IndexName: 'byCluster',
        KeyConditionExpression: 'gsi1pk = :c',
        ExpressionAttributeValues: { ':c': { S: 'CLUSTER#main' } },
      }),
    );
    expect(byCluster.Items?.map((i) => i.gsi1sk?.S)).toEqual(['TENANT#acme-prod']);
    await s.clusters.create({ clusterId: 'main', kind: 'static', writer: { host: 'db', port: 5432 } });
    const clusterRow = await dynamodb.send(new GetItemCommand({ TableName: s.table, Key: { pk: { S: 'CLUSTER#main' }, sk: { S: 'CLUSTER' } } }));
    expect(clusterRow.Item?.epoch).toEqual({ N: '0' });
    await s.heartbeats.put({ poolerId: 'p1', appliedConfigVersion: 1, lastSeen: new Date().toISOString() });
    const poolerRow = await dynamodb.send(new GetItemCommand({ TableName: s.table, Key: { pk: { S: 'POOLER#p1' }, sk: { S: 'POOLER' } } }));
    expect(poolerRow.Item?.appliedConfigVersion).toEqual({ N: '1' });
  });

  it('stores the largest heartbeat a pooler sends (1,000 pools, 200 statement shapes of 500 bytes) and reads it back', async () => {
    const s = await fresh();
    const id = (i: number): string => `t${String(i).padStart(5, '0')}-${'x'.repeat(56)}`;
    const big = Number.MAX_SAFE_INTEGER;
    const pools = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [id(i), { clientsActive: big, clientsWaiting: big, serversActive: big, serversIdle: big }]));
    const statements = Object.fromEntries(
      Array.from({ length: HEARTBEAT_SHAPES_TOTAL / HEARTBEAT_SHAPES_PER_TENANT }, (_, i) => [
        id(i),
        Array.from({ length: HEARTBEAT_SHAPES_PER_TENANT }, (_, k) => ({ text: `SELECT c${k} `.padEnd(HEARTBEAT_SHAPE_TEXT_BYTES, 'a'), calls: big, totalMs: 1234567.8901234567, maxMs: 1234.5678901234567 })),
      ]),
    );
    const hb = { poolerId: 'p'.repeat(128), instanceId: 'i-0123456789abcdef0', appliedConfigVersion: big, lastSeen: new Date().toISOString(), statsSince: new Date().toISOString(), pools, statements };
    expect(dynamoItemSize({ pk: `POOLER#${hb.poolerId}`, sk: 'POOLER', type: 'pooler', ttl: 2_000_000_000, ...hb })).toBeLessThan(0.85 * DYNAMO_ITEM_MAX_BYTES);
    await s.heartbeats.put(hb);
    expect(await s.heartbeats.get(hb.poolerId)).toEqual(hb);
    // The control: the table refuses an item over 400 KB, so the write above proves the size.
    await expect(
      dynamodb.send(new PutItemCommand({ TableName: s.table, Item: { pk: { S: 'POOLER#too-big' }, sk: { S: 'POOLER' }, blob: { S: 'x'.repeat(DYNAMO_ITEM_MAX_BYTES) } } })),
    ).rejects.toThrow(/size/i);
  });

  it('keeps node id leases in one partition under POOLER# (the instance role writes only POOLER#*), apart from heartbeats', async () => {
    const s = await fresh();
    const now = Date.now();
    await s.nodes.claim({ nodeId: 17, holder: 'h'.repeat(16), poolerId: 'p1', host: '10.0.0.5', port: 9128, expiresAtMs: now + 60_000 }, now);
    const row = await dynamodb.send(new GetItemCommand({ TableName: s.table, Key: { pk: { S: 'POOLER#_nodes' }, sk: { S: 'NODE#0017' } } }));
    expect(row.Item).toMatchObject({ nodeId: { N: '17' }, host: { S: '10.0.0.5' }, port: { N: '9128' }, type: { S: 'node' } });
    expect(Number(row.Item?.ttl?.N)).toBeGreaterThan(now / 1000);
    // A heartbeat scan (sk = POOLER) never sees lease rows.
    await s.heartbeats.put({ poolerId: 'p1', appliedConfigVersion: 1, lastSeen: new Date().toISOString() });
    expect((await s.heartbeats.list()).map((h) => h.poolerId)).toEqual(['p1']);
  });
});
