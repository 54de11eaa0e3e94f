// Request shapes of the DynamoDB store (aws-sdk-client-mock): which conditions guard which writes,
// and how DynamoDB's failures map to domain errors.
import { DynamoDBClient, TransactionCanceledException, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, VersionConflictError } from '../domain/errors.ts';
import { exampleNewTenant } from '../testing/examples.ts';
import { buildNewTenant } from '../domain/lifecycle.ts';
import { documentClient } from './adapters.ts';
import { DynamoTenantStore } from './dynamo-store.ts';

const NOW = new Date('2025-03-01T00:00:00.000Z');

function canceled(codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe('DynamoDB tenant store requests', () => {
  const raw = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const doc = documentClient(raw);
  const mock = mockClient(doc);
  let store: DynamoTenantStore;
  beforeEach(() => {
    mock.reset();
    store = new DynamoTenantStore({ doc, table: 'tbl', now: () => NOW });
  });
  afterEach(() => mock.reset());

  it('creates tenant, login guard and idempotency record in one transaction, each conditioned', async () => {
    mock.on(TransactWriteCommand).resolves({});
    await store.create(exampleNewTenant(), { idempotencyKey: 'req-9' });
    const calls = mock.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const items = calls[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => [i.Put?.Item?.pk, i.Put?.Item?.sk, i.Put?.ConditionExpression])).toEqual([
      ['TENANT#acme-prod', 'TENANT', 'attribute_not_exists(pk)'],
      ['LOGIN#acme#app', 'LOGIN', 'attribute_not_exists(pk)'],
      ['IDEMPOTENCY#req-9', 'IDEMPOTENCY', 'attribute_not_exists(pk) OR #ttl < :now'],
    ]);
    expect(items.every((i) => i.Put?.TableName === 'tbl')).toBe(true);
    expect(items[0]?.Put?.Item).toMatchObject({ gsi1pk: 'CLUSTER#main', gsi1sk: 'TENANT#acme-prod', version: 1, type: 'tenant' });
    expect(items[1]?.Put?.Item).toMatchObject({ tenantId: 'acme-prod' });
  });

  it('leaves a fixed-host tenant out of the byCluster index', async () => {
    mock.on(TransactWriteCommand).resolves({});
    const { clusterId: _c, ...d } = exampleNewTenant().destination;
    await store.create(exampleNewTenant({ destination: { ...d, host: 'db.internal', port: 5432 } }));
    const item = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Put?.Item;
    expect(item).not.toHaveProperty('gsi1pk');
    expect(item).not.toHaveProperty('gsi1sk');
  });

  it('maps a failed login-guard condition to ConflictError(login-taken)', async () => {
    mock.on(TransactWriteCommand).rejects(canceled(['None', 'ConditionalCheckFailed']));
    mock.on(GetCommand).resolves({});
    await expect(store.create(exampleNewTenant())).rejects.toMatchObject({ code: 'CONFLICT', reason: 'login-taken' });
  });

  it('maps a failed tenant condition to ConflictError(exists)', async () => {
    mock.on(TransactWriteCommand).rejects(canceled(['ConditionalCheckFailed', 'ConditionalCheckFailed']));
    mock.on(GetCommand).resolves({ Item: { pk: 'TENANT#acme-prod' } });
    await expect(store.create(exampleNewTenant())).rejects.toMatchObject({ reason: 'exists' });
  });

  it('does not hide a transaction conflict (concurrent transaction) as a domain conflict', async () => {
    mock.on(TransactWriteCommand).rejects(canceled(['TransactionConflict', 'None']));
    await expect(store.create(exampleNewTenant())).rejects.not.toBeInstanceOf(ConflictError);
  });

  it('updates with a version condition and maps its failure to VersionConflictError', async () => {
    const current = buildNewTenant(exampleNewTenant(), NOW);
    mock.on(GetCommand).resolvesOnce({ Item: { pk: 'TENANT#acme-prod', sk: 'TENANT', ...current } }).resolves({ Item: { ...current, version: 2 } });
    mock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    const err = await store.update('acme-prod', 1, { status: 'suspended' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(err).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    const put = mock.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe('#v = :v');
    expect(put?.ExpressionAttributeNames).toEqual({ '#v': 'version' });
    expect(put?.ExpressionAttributeValues).toEqual({ ':v': 1 });
    expect(put?.Item).toMatchObject({ version: 2, status: 'suspended' });
  });

  it('reports NotFoundError when the row vanished before the conditional write', async () => {
    const current = buildNewTenant(exampleNewTenant(), NOW);
    mock.on(GetCommand).resolvesOnce({ Item: current }).resolves({});
    mock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    await expect(store.update('acme-prod', 1, { status: 'suspended' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('moves the login guard in one transaction when the client login changes', async () => {
    const current = buildNewTenant(exampleNewTenant(), NOW);
    mock.on(GetCommand).resolves({ Item: current });
    mock.on(TransactWriteCommand).resolves({});
    await store.update('acme-prod', 1, { client: { database: 'acme', user: 'app2' } });
    const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Put?.ConditionExpression).toBe('#v = :v');
    expect(items[1]?.Delete?.Key).toEqual({ pk: 'LOGIN#acme#app', sk: 'LOGIN' });
    expect(items[1]?.Delete?.ConditionExpression).toBe('attribute_not_exists(pk) OR tenantId = :t');
    expect(items[2]?.Put?.Item).toMatchObject({ pk: 'LOGIN#acme#app2', tenantId: 'acme-prod' });
    expect(items[2]?.Put?.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('deletes the tenant and its login guard together, conditioned on the version read', async () => {
    const current = buildNewTenant(exampleNewTenant(), NOW);
    mock.on(GetCommand).resolves({ Item: current });
    mock.on(TransactWriteCommand).resolves({});
    await store.delete('acme-prod');
    const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Delete?.Key?.pk)).toEqual(['TENANT#acme-prod', 'LOGIN#acme#app']);
    expect(items[0]?.Delete?.ExpressionAttributeValues).toEqual({ ':v': 1 });
  });
});
