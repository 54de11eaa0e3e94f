// `switchyard pooler --source aws --workers 2` against moto and a real PostgreSQL, with the
// pooler's AWS calls going through a counting HTTP proxy: every worker loads every tenant, but each
// destination password is decrypted with KMS once per machine (the supervisor decrypts for its
// workers, pooler/src/cluster/secret-relay.ts), at start and on a pushed reload, and every
// worker serves the tenants with the passwords it got that way.
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAwsAdapters } from '../shared/src/aws/adapters.ts';
import { clusterTargetsOf } from '../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { connectPg, until } from './helpers/clients.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, type Destination } from './helpers/tenants.ts';
import { startWorkersPooler, type WorkersPooler } from './helpers/workers.ts';

/** An HTTP proxy to moto that counts requests by their X-Amz-Target (the AWS JSON protocol's operation). */
async function countingProxy(target: string): Promise<{ server: Server; url: string; count: (op: string) => number }> {
  const counts = new Map<string, number>();
  const to = new URL(target);
  const server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? req.url ?? '');
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}`, count: (op) => counts.get(op) ?? 0 };
}

const TENANTS = 5;
const WORKERS = 2;

describeWithMoto('pooler --source aws --workers 2: KMS once per machine', () => {
  const moto = useMoto();
  let pg: PostgresServer;
  let a: Adapters;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let pooler: WorkersPooler | undefined;
  let dir: string;
  const logins: Array<{ name: string; dest: Destination; password: string }> = [];

  async function addTenant(i: number): Promise<void> {
    const name = `kms_once_${i}`;
    const dest = await createDestination(pg, { name });
    const password = randomPassword('cli');
    const ctx = { clusterId: 'main' };
    await a.tenants.create({
      tenantId: `kms-once-${i}`,
      client: { database: `app_${name}`, user: `usr_${name}` },
      clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
      destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await a.secrets.encrypt(dest.password, tenantSecretContext(`kms-once-${i}`, ctx)) },
      pool: { size: 2 },
    });
    logins.push({ name, dest, password });
  }

  /** Logs in to every tenant `rounds` times; connections land on either worker. */
  async function loginAll(rounds: number): Promise<void> {
    for (let r = 0; r < rounds; r++) {
      for (const t of logins) {
        const c = await connectPg({ host: '127.0.0.1', port: pooler!.port, database: `app_${t.name}`, user: `usr_${t.name}`, password: t.password });
        try {
          expect((await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).toBe(t.dest.user);
        } finally {
          await c.end();
        }
      }
    }
  }

  const decrypts = (): number => proxy.count('TrentService.Decrypt');

  beforeAll(async () => {
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-kms-once-'));
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-kms-once');
    dynamodb.destroy();
    const kms = new KMSClient({});
    const key = await kms.send(new CreateKeyCommand({ Description: 'switchyard kms-once test' }));
    kms.destroy();
    const env = { SWITCHYARD_TABLE: 'switchyard-kms-once', SWITCHYARD_KMS_KEY_ID: key.KeyMetadata?.KeyId ?? '', SWITCHYARD_STAGE: 'kms-once' };
    a = createAwsAdapters(env);
    const cluster = await a.clusters.create({ clusterId: 'main', kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [] });
    await a.config.publishClusterTargets('main', clusterTargetsOf(cluster));
    for (let i = 0; i < TENANTS; i++) await addTenant(i);
    await a.config.bumpConfigVersion();
    proxy = await countingProxy(moto.server.endpoint);
    pooler = await startWorkersPooler({ log_level: 'info' }, dir, WORKERS, {
      sourceArgs: ['--source', 'aws'],
      env: { ...process.env, ...env, AWS_ENDPOINT_URL: proxy.url, AWS_EC2_METADATA_DISABLED: 'true' },
    });
  });

  afterAll(async () => {
    await pooler?.stop().catch(() => undefined);
    await new Promise((r) => proxy?.server.close(r));
    await a?.close();
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decrypts each password once for both workers at start, and every worker serves every tenant', async () => {
    expect(pooler!.workerPids()).toHaveLength(WORKERS);
    // Both workers read the tenants (the scans went through the proxy too)...
    expect(proxy.count('DynamoDB_20120810.Query') + proxy.count('DynamoDB_20120810.Scan')).toBeGreaterThanOrEqual(WORKERS);
    // ...but KMS saw one Decrypt per tenant, not one per tenant per worker.
    expect(decrypts()).toBe(TENANTS);
    // Enough logins that both workers serve (the kernel spreads connections by hash).
    await loginAll(4);
    expect(decrypts()).toBe(TENANTS);
  });

  it('decrypts only the new password, once, when a pushed reload reaches both workers', async () => {
    await addTenant(TENANTS);
    await a.config.bumpConfigVersion();
    process.kill(pooler!.pid, 'SIGHUP');
    await until(() => decrypts() >= TENANTS + 1, 20_000, 'the new tenant decrypted');
    // Both workers have applied the reload once every tenant logs in, again and again (the
    // connections land on both workers).
    await until(
      async () => {
        try {
          await loginAll(4);
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      'every tenant served after the reload',
    );
    expect(decrypts()).toBe(TENANTS + 1);
  });
});
