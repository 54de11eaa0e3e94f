// A cluster whose admin credentials live in Secrets Manager, the way RDS keeps a managed master
// password (a secret named rds!cluster-<uuid> holding {"username", "password"}, tagged by RDS with
// aws:rds:primaryDBClusterArn): the API reads the secret (moto) and provisions, purges and reads
// metrics on a real PostgreSQL as that admin; a rotated secret is used at once; a missing secret, one
// without a password, or one RDS keeps for another cluster is a 409 with a stable code and nothing
// is created; neither responses nor logs ever carry the password. The clusters are Aurora clusters
// whose writer the Topology port reports — here the local PostgreSQL, standing in for what RDS
// would answer.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { makeHandler as makeDeleteTenant } from '../functions/api/tenants-delete.ts';
import { makeHandler as makeMetrics } from '../functions/api/tenants-metrics.ts';
import type { Deps } from '../functions/lib/deps.ts';
import { awsTestDeps, field, invoke } from '../functions/testing/test-deps.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

// The RDS master user is not a superuser: CREATEROLE and CREATEDB (RDS User Guide, "Master user
// account privileges").
const MASTER = 'rds_master';
const MASTER_PASSWORD = 'master-Pw-7f3a9c1e-from-secrets-manager';
const ROTATED_PASSWORD = 'master-Pw-rotated-0d4b2e8a';

async function login(server: PostgresServer, user: string, password: string, database: string): Promise<string> {
  const c = new pg.Client({ host: server.host, port: server.port, user, password, database });
  await c.connect();
  try {
    const r = await c.query<{ who: string }>("SELECT current_user || '@' || current_database() AS who");
    return r.rows[0]?.who ?? '';
  } finally {
    await c.end();
  }
}

describeWithMoto('cluster admin credentials from Secrets Manager (moto + PostgreSQL)', () => {
  useMoto();
  let server: PostgresServer;
  let deps: Deps;
  let cleanup: () => Promise<void>;
  let dynamodb: DynamoDBClient;
  let sm: SecretsManagerClient;
  let logs = '';

  beforeAll(async () => {
    server = await startPostgres();
    await server.psql(`CREATE ROLE ${MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '${MASTER_PASSWORD}'`);
    dynamodb = new DynamoDBClient({});
    sm = new SecretsManagerClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-secrets');
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString();
        done();
      },
    });
    ({ deps, cleanup } = await awsTestDeps({ table: 'switchyard-secrets', stage: 'secrets', log: pino({ level: 'debug' }, sink) }));
    // RDS would report the cluster's writer endpoint; the database of this test is the local one.
    deps = { ...deps, adapters: { ...deps.adapters, topology: { describe: () => Promise.resolve({ writer: { host: server.host, port: server.port }, readers: [] }) } } };
  });
  afterAll(async () => {
    await cleanup?.();
    sm?.destroy();
    dynamodb?.destroy();
    await server?.stop();
  });

  /** A secret named, shaped and tagged as RDS makes it for Aurora cluster `owner`; returns its ARN. */
  async function rdsSecret(value: unknown, owner: string): Promise<string> {
    const res = await sm.send(
      new CreateSecretCommand({
        Name: `rds!cluster-${randomUUID()}`,
        SecretString: JSON.stringify(value),
        Tags: [{ Key: 'aws:rds:primaryDBClusterArn', Value: `arn:aws:rds:us-east-1:123456789012:cluster:${owner}` }],
      }),
    );
    if (!res.ARN) throw new Error('no ARN');
    return res.ARN;
  }

  async function registerCluster(clusterId: string, secretArn: string): Promise<void> {
    const res = await invoke(makeCreateCluster(deps), {
      method: 'POST',
      path: '/clusters',
      body: { clusterId, kind: 'aurora', rds: { clusterIdentifier: clusterId }, admin: { secretArn } },
    });
    expect(res.status).toBe(201);
    expect(field(res.body, 'admin')).toEqual({ secretArn });
  }

  const tenantBody = (tenantId: string, clusterId: string, name: string) => ({
    tenantId,
    client: { database: name, user: `${name}_app` },
    destination: { clusterId, database: `${name}_db`, user: `${name}_owner` },
    provision: true,
  });

  async function exists(kind: 'role' | 'database', name: string): Promise<boolean> {
    const sql = kind === 'role' ? `SELECT count(*) FROM pg_roles WHERE rolname = '${name}'` : `SELECT count(*) FROM pg_database WHERE datname = '${name}'`;
    return (await server.psql(sql)) === '1';
  }

  it('provisions a tenant as the admin named in the secret, reads its metrics, purges it, and never shows the password', async () => {
    await registerCluster('aurora-managed', await rdsSecret({ username: MASTER, password: MASTER_PASSWORD }, 'aurora-managed'));
    const res = await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody('shop-sm', 'aurora-managed', 'shop') });
    expect(res.status).toBe(201);
    expect(await login(server, 'shop_owner', field<string>(res.body, 'password'), 'shop_db')).toBe('shop_owner@shop_db');
    // Created through the secret's user (a superuser would not have needed the membership grant).
    expect(await server.psql(`SELECT pg_has_role('${MASTER}', 'shop_owner', 'MEMBER')`)).toBe('t');

    const metrics = await invoke(makeMetrics(deps), { method: 'GET', path: '/tenants/shop-sm/metrics', pathParameters: { id: 'shop-sm' } });
    expect(metrics.status).toBe(200);

    const del = await invoke(makeDeleteTenant(deps), { method: 'DELETE', path: '/tenants/shop-sm', pathParameters: { id: 'shop-sm' }, query: { purge: 'true' } });
    expect(del.status).toBe(200);
    expect(await exists('database', 'shop_db')).toBe(false);
    expect(await exists('role', 'shop_owner')).toBe(false);

    for (const raw of [res.rawBody, metrics.rawBody, del.rawBody, logs]) expect(raw ?? '').not.toContain(MASTER_PASSWORD);
    expect(logs).toContain('tenant provisioned');
  });

  it('uses a rotated secret at once (nothing cached)', async () => {
    const arn = await rdsSecret({ username: MASTER, password: MASTER_PASSWORD }, 'rotating');
    await registerCluster('rotating', arn);
    expect((await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody('before-rotation', 'rotating', 'before') })).status).toBe(201);

    // What RDS does on rotation: a new master password in the database and the secret together.
    await server.psql(`ALTER ROLE ${MASTER} PASSWORD '${ROTATED_PASSWORD}'`);
    await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ username: MASTER, password: ROTATED_PASSWORD }) }));
    try {
      const after = await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody('after-rotation', 'rotating', 'after') });
      expect(after.status).toBe(201);
      expect(await login(server, 'after_owner', field<string>(after.body, 'password'), 'after_db')).toBe('after_owner@after_db');
      expect(logs).not.toContain(ROTATED_PASSWORD);
    } finally {
      await server.psql(`ALTER ROLE ${MASTER} PASSWORD '${MASTER_PASSWORD}'`);
    }
  });

  it('answers 409 CLUSTER_ADMIN_SECRET_NOT_FOUND for a secret that does not exist, and creates nothing', async () => {
    const arn = await rdsSecret({ username: MASTER, password: MASTER_PASSWORD }, 'gone-secret');
    await sm.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
    await registerCluster('gone-secret', arn);
    const res = await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody('no-secret', 'gone-secret', 'nosecret') });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('CLUSTER_ADMIN_SECRET_NOT_FOUND');
    expect(field<string>(res.body, 'error', 'message')).toContain(arn);
    expect(await deps.adapters.tenants.get('no-secret')).toBeUndefined();
    expect(await exists('role', 'nosecret_owner')).toBe(false);
    expect(await exists('database', 'nosecret_db')).toBe(false);
  });

  it('answers 409 CLUSTER_ADMIN_SECRET_INVALID for a secret without a password field, names the field, and creates nothing', async () => {
    const leaked = 'value-that-must-not-leak-5e1f';
    await registerCluster('no-password', await rdsSecret({ username: MASTER, pwd: leaked }, 'no-password'));
    const res = await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody('no-password', 'no-password', 'nopw') });
    expect(res.status).toBe(409);
    expect(field(res.body, 'error', 'code')).toBe('CLUSTER_ADMIN_SECRET_INVALID');
    expect(field<string>(res.body, 'error', 'message')).toMatch(/no usable "password"/);
    expect(res.rawBody).not.toContain(leaked);
    expect(logs).not.toContain(leaked);
    expect(await deps.adapters.tenants.get('no-password')).toBeUndefined();
    expect(await exists('role', 'nopw_owner')).toBe(false);
    expect(await exists('database', 'nopw_db')).toBe(false);
  });

  it('refuses a purge whose secret is gone before taking the tenant out of routing', async () => {
    const arn = await rdsSecret({ username: MASTER, password: MASTER_PASSWORD }, 'purge-gone');
    await registerCluster('purge-gone', arn);
    expect((await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody('keep-me', 'purge-gone', 'keep') })).status).toBe(201);
    await sm.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));

    const del = await invoke(makeDeleteTenant(deps), { method: 'DELETE', path: '/tenants/keep-me', pathParameters: { id: 'keep-me' }, query: { purge: 'true' } });
    expect(del.status).toBe(409);
    expect(field(del.body, 'error', 'code')).toBe('CLUSTER_ADMIN_SECRET_NOT_FOUND');
    expect((await deps.adapters.tenants.get('keep-me'))?.status).toBe('active');
    expect(await exists('database', 'keep_db')).toBe(true);
  });

  it('answers 409 CLUSTER_ADMIN_SECRET_NOT_OWNED for the master secret of another cluster, or an untagged secret, and never reads it', async () => {
    const leaked = 'other-clusters-master-pw-9c2d';
    for (const [clusterId, arn] of [
      ['borrower', await rdsSecret({ username: MASTER, password: leaked }, 'someone-elses-cluster')],
      ['untagged', (await sm.send(new CreateSecretCommand({ Name: `rds!cluster-${randomUUID()}`, SecretString: JSON.stringify({ username: MASTER, password: leaked }) }))).ARN!],
    ] as const) {
      await registerCluster(clusterId, arn);
      const res = await invoke(makeCreateTenant(deps), { method: 'POST', path: '/tenants', body: tenantBody(`t-${clusterId}`, clusterId, clusterId) });
      expect(res.status, clusterId).toBe(409);
      expect(field(res.body, 'error', 'code'), clusterId).toBe('CLUSTER_ADMIN_SECRET_NOT_OWNED');
      expect(field<string>(res.body, 'error', 'message')).toMatch(new RegExp(`not the master user secret RDS manages for DB cluster ${clusterId}`));
      expect(await deps.adapters.tenants.get(`t-${clusterId}`)).toBeUndefined();
      expect(await exists('role', `${clusterId}_owner`)).toBe(false);
      expect(res.rawBody).not.toContain(leaked);
    }
    expect(logs).not.toContain(leaked);
  });
});
