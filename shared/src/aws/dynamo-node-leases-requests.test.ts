// Request shapes of the DynamoDB node id leases (aws-sdk-client-mock). moto does not make
// conditional writes atomic against each other, so the one-winner guarantee rests on DynamoDB's
// per-item conditions: this pins that every claim and release is conditioned, on what, and that
// a failed condition is an answer (false / nothing), not an error.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from './adapters.ts';
import { DynamoNodeLeaseStore } from './dynamo-node-leases.ts';

const lease = { nodeId: 17, holder: 'h'.repeat(24), poolerId: 'ip-10-0-1-23-5432', host: '10.0.1.23', port: 9128, expiresAtMs: 1_700_000_060_000 };
const failed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

describe('DynamoDB node lease requests', () => {
  const raw = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const doc = documentClient(raw);
  const mock = mockClient(doc);
  let store: DynamoNodeLeaseStore;
  beforeEach(() => {
    mock.reset();
    store = new DynamoNodeLeaseStore({ doc, table: 'tbl' });
  });
  afterEach(() => mock.reset());

  it('claims with one conditional put: free, expired, or already ours', async () => {
    mock.on(PutCommand).resolves({});
    expect(await store.claim(lease, 1_700_000_000_000)).toBe(true);
    const input = mock.commandCalls(PutCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: 'tbl',
      Item: { pk: 'POOLER#_nodes', sk: 'NODE#0017', type: 'node', ...lease, ttl: 1_700_000_060 + 7 * 24 * 3600 },
      ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR expiresAtMs <= :now',
      ExpressionAttributeValues: { ':holder': lease.holder, ':now': 1_700_000_000_000 },
    });
  });

  it('answers false when another holder’s lease is live, and rethrows anything else', async () => {
    mock.on(PutCommand).rejectsOnce(failed()).rejectsOnce(new Error('throttled'));
    expect(await store.claim(lease, 1_700_000_000_000)).toBe(false);
    await expect(store.claim(lease, 1_700_000_000_000)).rejects.toThrow('throttled');
  });

  it('releases only its own lease (conditioned on the holder), without DeleteItem', async () => {
    mock.on(UpdateCommand).rejectsOnce(failed()).resolves({});
    await store.release(17, lease.holder);
    await store.release(17, lease.holder);
    for (const call of mock.commandCalls(UpdateCommand)) {
      expect(call.args[0].input).toMatchObject({
        Key: { pk: 'POOLER#_nodes', sk: 'NODE#0017' },
        UpdateExpression: 'SET expiresAtMs = :zero',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':zero': 0, ':holder': lease.holder },
      });
    }
  });

  it('lists with one strongly consistent Query of the lease partition, page after page', async () => {
    mock
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ pk: 'POOLER#_nodes', sk: 'NODE#0017', type: 'node', ttl: 1, ...lease }], LastEvaluatedKey: { pk: 'POOLER#_nodes', sk: 'NODE#0017' } })
      .resolvesOnce({ Items: [{ pk: 'POOLER#_nodes', sk: 'NODE#0003', type: 'node', ttl: 1, ...lease, nodeId: 3 }] });
    expect((await store.list()).map((l) => l.nodeId)).toEqual([3, 17]);
    const calls = mock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'POOLER#_nodes' }, ConsistentRead: true });
    expect(calls[1]?.ExclusiveStartKey).toEqual({ pk: 'POOLER#_nodes', sk: 'NODE#0017' });
  });
});
