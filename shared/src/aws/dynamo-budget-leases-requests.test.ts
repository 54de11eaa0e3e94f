// Request shapes of the DynamoDB budget leases (aws-sdk-client-mock). moto does not make
// conditional writes atomic against each other, so "one writer per version" rests on DynamoDB's
// per-item condition: this pins that every write is conditioned on the version it replaces (or
// on there being no row), that a failed condition is an answer (false), and that reads are
// strongly consistent.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from './adapters.ts';
import { DynamoBudgetLeaseStore } from './dynamo-budget-leases.ts';

const member = { holder: 'h'.repeat(24), poolerId: 'ip-10-0-1-23-5432', expiresAtMs: 1_700_000_010_000, ack: 3 };
const failed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

describe('DynamoDB budget lease requests', () => {
  const raw = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const doc = documentClient(raw);
  const mock = mockClient(doc);
  let store: DynamoBudgetLeaseStore;
  beforeEach(() => {
    mock.reset();
    store = new DynamoBudgetLeaseStore({ doc, table: 'tbl' });
  });
  afterEach(() => mock.reset());

  it('writes the first row only where there is none, every later one only over the version before it', async () => {
    mock.on(PutCommand).resolves({});
    expect(await store.write({ version: 1, generation: 1, members: [member] })).toBe(true);
    expect(await store.write({ version: 8, generation: 3, members: [member] })).toBe(true);
    const [first, later] = mock.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({ TableName: 'tbl', Item: { pk: 'POOLER#_budget', sk: 'BUDGET', type: 'budget', version: 1, generation: 1, members: [member] }, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(later).toMatchObject({
      Item: { pk: 'POOLER#_budget', sk: 'BUDGET', version: 8 },
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': 7 },
    });
  });

  it('answers false when the row moved on, and rethrows anything else', async () => {
    mock.on(PutCommand).rejectsOnce(failed()).rejectsOnce(new Error('throttled'));
    expect(await store.write({ version: 2, generation: 1, members: [member] })).toBe(false);
    await expect(store.write({ version: 2, generation: 1, members: [member] })).rejects.toThrow('throttled');
  });

  it('reads the row strongly consistent, without the layout attributes', async () => {
    mock.on(GetCommand).resolves({ Item: { pk: 'POOLER#_budget', sk: 'BUDGET', type: 'budget', version: 4, generation: 2, members: [member] } });
    expect(await store.read()).toEqual({ version: 4, generation: 2, members: [member] });
    expect(mock.commandCalls(GetCommand)[0]?.args[0].input).toEqual({ TableName: 'tbl', Key: { pk: 'POOLER#_budget', sk: 'BUDGET' }, ConsistentRead: true });
  });
});
