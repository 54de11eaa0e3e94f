// The pooler with the AWS source against moto (DynamoDB, KMS, SSM) and a real PostgreSQL: a tenant
// stored in DynamoDB with its destination password as a KMS ciphertext, routed through a cluster
// whose targets are in SSM, is served; a published change reaches the pooler through the version
// poll; unchanged passwords are not decrypted again; the heartbeat reports the applied version and
// pool figures; a ciphertext that does not open keeps the tenant's previous routing.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema } from '../pooler/src/config/schema.ts';
import { createAwsSource } from '../pooler/src/config/sources/aws-source.ts';
import { SourceController } from '../pooler/src/config/sources/controller.ts';
import type { StoreSource } from '../pooler/src/config/sources/store-source.ts';
import { startPooler } from '../pooler/src/index.ts';
import { createAwsAdapters } from '../shared/src/aws/adapters.ts';
import { clusterTargetsOf } from '../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from './helpers/clients.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, testLogger, type Destination } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

describeWithMoto('pooler with the AWS source (moto)', () => {
  useMoto();
  let pg: PostgresServer;
  let a: Adapters;
  let source: StoreSource;
  let controller: SourceController;
  let pooler: Pooler;
  const clients: PgClient[] = [];

  /** Creates a destination on PostgreSQL and its tenant in DynamoDB (password encrypted with KMS). */
  async function addTenant(tenantId: string, name: string): Promise<{ dest: Destination; password: string }> {
    const dest = await createDestination(pg, { name });
    const password = randomPassword('cli');
    const ctx = { clusterId: 'main' };
    await a.tenants.create({
      tenantId,
      client: { database: `app_${name}`, user: `usr_${name}` },
      clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
      destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await a.secrets.encrypt(dest.password, tenantSecretContext(tenantId, ctx)) },
      pool: { size: 2, connectTimeout: 5, checkoutTimeout: 10 },
    });
    return { dest, password };
  }

  async function login(name: string, password: string): Promise<PgClient> {
    const c = await connectPg({ host: '127.0.0.1', port: pooler.port, database: `app_${name}`, user: `usr_${name}`, password });
    clients.push(c);
    return c;
  }

  async function whoAmI(c: PgClient): Promise<{ user: string; db: string }> {
    return (await c.query<{ user: string; db: string }>('SELECT current_user AS user, current_database() AS db')).rows[0]!;
  }

  let first: { dest: Destination; password: string };

  beforeAll(async () => {
    pg = await startPostgres();
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-pooler');
    dynamodb.destroy();
    const kms = new KMSClient({});
    const key = await kms.send(new CreateKeyCommand({ Description: 'switchyard pooler test' }));
    kms.destroy();
    const env = { SWITCHYARD_TABLE: 'switchyard-pooler', SWITCHYARD_KMS_KEY_ID: key.KeyMetadata?.KeyId ?? '', SWITCHYARD_STAGE: 'pooler-test' };
    // The control plane's side of the table, key and parameters.
    a = createAwsAdapters(env);
    const cluster = await a.clusters.create({ clusterId: 'main', kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [] });
    await a.config.publishClusterTargets('main', clusterTargetsOf(cluster));
    first = await addTenant('aws-first', 'aws_first');
    await a.config.bumpConfigVersion();

    const log = testLogger();
    source = createAwsSource({ log, env, base: () => configSchema.parse({ listen: { host: '127.0.0.1', port: 0 }, log_level: 'silent' }) });
    const initial = await source.load();
    expect(initial.version).toBe(await a.config.getConfigVersion());
    pooler = await startPooler(initial.config, { logger: log });
    controller = new SourceController(pooler, source, initial, { log, pollMaxMs: 0, heartbeatMs: 0, poolerId: 'pooler-test-1' });
    controller.start();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => endQuietly(c)));
    await controller?.stop();
    await pooler?.close();
    await a?.close();
    await pg?.stop();
  });

  it('serves a tenant from DynamoDB on the SSM target with the KMS-decrypted password', async () => {
    const c = await login('aws_first', first.password);
    expect(await whoAmI(c)).toEqual({ user: first.dest.user, db: first.dest.database });
    // Routed with the writer check, as every cluster destination is.
    expect(pooler.snapshot().byId.get('aws-first')?.pool.check_writer).toBe(true);
  });

  it('applies a published change on the next version poll, decrypting only the new password', async () => {
    const decrypts = source.decrypts;
    const second = await addTenant('aws-second', 'aws_second');
    // Not yet published: the poll finds the same version and does nothing.
    const snapshotBefore = pooler.configVersion;
    await controller.poll();
    expect(pooler.configVersion).toBe(snapshotBefore);
    const version = await a.config.bumpConfigVersion();
    await controller.poll();
    expect(controller.appliedConfigVersion).toBe(version);
    const c = await login('aws_second', second.password);
    expect(await whoAmI(c)).toEqual({ user: second.dest.user, db: second.dest.database });
    expect(source.decrypts).toBe(decrypts + 1);
  });

  it('writes a heartbeat with the applied version and the pool figures', async () => {
    await controller.heartbeat();
    const hb = await a.heartbeats.get('pooler-test-1');
    expect(hb?.appliedConfigVersion).toBe(await a.config.getConfigVersion());
    expect(hb?.pools['aws-first']).toMatchObject({ clientsActive: 1, clientsWaiting: 0 });
    const f = hb!.pools['aws-first']!;
    expect(f.serversActive + f.serversIdle).toBeGreaterThanOrEqual(1);
  });

  it('keeps a tenant’s previous routing when its new ciphertext does not open, and leaves out a new tenant whose ciphertext does not open', async () => {
    const t = (await a.tenants.get('aws-first'))!;
    // A ciphertext made for another tenant: KMS refuses it under this tenant's context.
    const foreign = await a.secrets.encrypt('not-the-password', tenantSecretContext('someone-else', { clusterId: 'main' }));
    await a.tenants.update('aws-first', t.version, { destination: { ...t.destination, passwordCiphertext: foreign } });
    const broken = await addTenant('aws-broken', 'aws_broken');
    const bt = (await a.tenants.get('aws-broken'))!;
    await a.tenants.update('aws-broken', bt.version, { destination: { ...bt.destination, passwordCiphertext: foreign } });
    await a.config.bumpConfigVersion();
    await controller.poll();
    // The first tenant is still served with its previous (working) password.
    const c = await login('aws_first', first.password);
    expect(await whoAmI(c)).toEqual({ user: first.dest.user, db: first.dest.database });
    // The broken new tenant is not routed: its login fails like an unknown one.
    expect(pooler.snapshot().byId.has('aws-broken')).toBe(false);
    const err = pgErrorInfo(await rejectionOf(login('aws_broken', broken.password)));
    expect(err.code).toBe('28P01');
  });
});
