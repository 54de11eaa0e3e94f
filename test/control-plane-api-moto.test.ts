// The tenant handlers on the AWS adapters against moto (DynamoDB, KMS, SSM): a created tenant is a
// row in the table holding verifiers and a KMS ciphertext only; a duplicate (database, user) is 409;
// the config version parameter moves; the idempotent replay works through DynamoDB too; a move to
// another cluster re-encrypts the destination password with KMS under the new encryption context.
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeGet } from '../functions/api/tenants-get.ts';
import { makeHandler as makeUpdate } from '../functions/api/tenants-update.ts';
import type { Deps } from '../functions/lib/deps.ts';
import { awsTestDeps, field, invoke } from '../functions/testing/test-deps.ts';
import { SecretError } from '../shared/src/domain/errors.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('control-plane API on the AWS adapters (moto)', () => {
  useMoto();
  let deps: Deps;
  let cleanup: () => Promise<void>;
  let dynamodb: DynamoDBClient;
  const table = 'switchyard-api';

  beforeAll(async () => {
    dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, table);
    ({ deps, cleanup } = await awsTestDeps({ table, stage: 'apitest' }));
  });
  afterAll(async () => {
    dynamodb.destroy();
    await cleanup();
  });

  const body = (tenantId: string, database = 'shop') => ({
    tenantId,
    client: { database, user: 'app', md5: true },
    destination: { host: 'db.internal', database: 'shop', user: 'shop', password: 'destination-password-1' },
  });

  it('creates a tenant row with verifiers and a ciphertext only, and bumps the SSM config version', async () => {
    const res = await invoke(makeCreate(deps), { method: 'POST', path: '/tenants', body: body('shop-one') });
    expect(res.status).toBe(201);
    const password = field<string>(res.body, 'password');

    const items = (await DynamoDBDocumentClient.from(dynamodb).send(new ScanCommand({ TableName: table }))).Items ?? [];
    const row = items.find((i) => i.pk === 'TENANT#shop-one');
    expect(row).toBeDefined();
    expect(row?.client).toEqual({ database: 'shop', user: 'app' });
    expect(String(row?.clientAuth?.scram)).toMatch(/^SCRAM-SHA-256\$4096:/);
    // PostgreSQL's md5 verifier: 'md5' || md5(password || user), computed here independently.
    expect(row?.clientAuth?.md5).toBe('md5' + createHash('md5').update(password + 'app').digest('hex'));
    expect(items.some((i) => i.pk === 'LOGIN#shop#app')).toBe(true);
    const everything = JSON.stringify(items);
    expect(everything).not.toContain(password);
    expect(everything).not.toContain('destination-password-1');

    const ssm = new SSMClient({});
    const version = (await ssm.send(new GetParameterCommand({ Name: '/switchyard/apitest/config-version' }))).Parameter?.Value;
    ssm.destroy();
    expect(Number(version)).toBeGreaterThanOrEqual(1);

    const get = await invoke(makeGet(deps), { method: 'GET', path: '/tenants/shop-one', pathParameters: { id: 'shop-one' } });
    expect(get.status).toBe(200);
    expect(get.rawBody).not.toContain('SCRAM');
  });

  it('refuses a duplicate client (database, user) with 409 LOGIN_TAKEN', async () => {
    expect((await invoke(makeCreate(deps), { method: 'POST', path: '/tenants', body: body('dup-first', 'dupdb') })).status).toBe(201);
    const res = await invoke(makeCreate(deps), { method: 'POST', path: '/tenants', body: body('dup-second', 'dupdb') });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('LOGIN_TAKEN');
    expect(await deps.adapters.tenants.get('dup-second')).toBeUndefined();
  });

  it('replays an identical create (Idempotency-Key) and enforces the version on update', async () => {
    const headers = { 'idempotency-key': 'create-replay-1' };
    expect((await invoke(makeCreate(deps), { method: 'POST', path: '/tenants', headers, body: body('replayed', 'replaydb') })).status).toBe(201);
    const again = await invoke(makeCreate(deps), { method: 'POST', path: '/tenants', headers, body: body('replayed', 'replaydb') });
    expect(again.status).toBe(200);
    expect(again.body).not.toHaveProperty('password');

    const update = (ifMatch: string) =>
      invoke(makeUpdate(deps), { method: 'PATCH', path: '/tenants/replayed', pathParameters: { id: 'replayed' }, headers: { 'if-match': ifMatch }, body: { status: 'suspended' } });
    expect((await update('"1"')).status).toBe(200);
    const stale = await update('"1"');
    expect(stale.status).toBe(409);
    expect(field(stale.body, 'error', 'code')).toBe('VERSION_CONFLICT');
  });

  it('moves a tenant onto a cluster and on to another: KMS ciphertexts re-encrypted under { tenantId, clusterId } of the new cluster', async () => {
    for (const clusterId of ['moto-blue', 'moto-green']) {
      await deps.adapters.clusters.create({ clusterId, kind: 'static', writer: { host: `${clusterId}.internal`, port: 5432 } });
    }
    expect((await invoke(makeCreate(deps), { method: 'POST', path: '/tenants', body: body('mover', 'moverdb') })).status).toBe(201);
    const move = (version: number, destination: unknown) =>
      invoke(makeUpdate(deps), { method: 'PATCH', path: '/tenants/mover', pathParameters: { id: 'mover' }, headers: { 'if-match': `"${version}"` }, body: { destination } });
    const ciphertext = async () => (await deps.adapters.tenants.get('mover'))!.destination.passwordCiphertext;
    const open = async (clusterId: string | undefined) => deps.adapters.secrets.decrypt(await ciphertext(), tenantSecretContext('mover', clusterId === undefined ? {} : { clusterId }));

    // No new password: KMS decrypts under the old context and encrypts under the new one.
    const first = await move(1, { clusterId: 'moto-blue' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(await open('moto-blue')).toBe('destination-password-1');
    await expect(open(undefined)).rejects.toBeInstanceOf(SecretError);

    // A new password is encrypted under the new cluster's context only.
    const second = await move(2, { clusterId: 'moto-green', password: 'destination-password-2' });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(await open('moto-green')).toBe('destination-password-2');
    await expect(open('moto-blue')).rejects.toBeInstanceOf(SecretError);
    const items = (await DynamoDBDocumentClient.from(dynamodb).send(new ScanCommand({ TableName: table }))).Items ?? [];
    expect(JSON.stringify(items)).not.toContain('destination-password-2');

    const unknown = await move(3, { clusterId: 'moto-nowhere' });
    expect(unknown.status).toBe(400);
    expect(field(unknown.body, 'error', 'code')).toBe('UNKNOWN_CLUSTER');
  });
});
