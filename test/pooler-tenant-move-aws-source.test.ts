// Moving a tenant on the AWS path (moto: DynamoDB, KMS, SSM): the tenant is created through the
// API handler (destination password encrypted with KMS under { tenantId, clusterId: blue }), the
// pooler runs as a process with `--source aws`, clients write through it, and PATCH
// /tenants/{id} moves the tenant to cluster "green" without a new password: the handler decrypts
// under the old context and encrypts under the new one with KMS, and the pooler decrypts the new
// ciphertext under { tenantId, clusterId: green } to log in there. No client error; every client
// ends up committing on green. (The reload is requested with SIGHUP, as `systemctl reload` does on
// an instance; moto has no instance for the API's SSM push to reach.)
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { depsWith, type Deps } from '../functions/lib/deps.ts';
import { createPgConnect } from '../functions/lib/pg-target.ts';
import { awsTestDeps, invoke } from '../functions/testing/test-deps.ts';
import { clusterTargetsOf } from '../shared/src/domain/cluster-targets.ts';
import { freePort, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { toYaml } from '../shared/src/yaml.ts';
import { backgroundErrorsOf, connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';
import { createMoveDestination, moveTenant, TxLoop } from './helpers/move-rig.ts';
import { spawnPooler, type PoolerChild } from './helpers/pooler-process.ts';
import { randomPassword } from './helpers/tenants.ts';

const TENANT = 'aws-mover';
const WRITERS = 3;

describeWithMoto('moving a tenant on the AWS source (moto)', () => {
  const moto = useMoto();
  let blue: PostgresServer;
  let green: PostgresServer;
  let deps: Deps;
  let cleanupDeps: () => Promise<void>;
  let pooler: PoolerChild | undefined;
  let dir: string;
  const clients: PgClient[] = [];
  let loop: TxLoop | undefined;
  let clientPassword: string;

  beforeAll(async () => {
    blue = await startPostgres();
    green = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-move-aws-'));
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-move');
    dynamodb.destroy();
    let env: Record<string, string>;
    ({ deps, env, cleanup: cleanupDeps } = await awsTestDeps({ table: 'switchyard-move', stage: 'move-test' }));
    deps = depsWith(deps.adapters, { log: pino({ level: 'silent' }), pg: createPgConnect({ ssl: 'disable' }) });
    for (const [clusterId, server] of [['blue', blue], ['green', green]] as const) {
      const cluster = await deps.adapters.clusters.create({ clusterId, kind: 'static', writer: { host: server.host, port: server.port }, readers: [] });
      await deps.adapters.config.publishClusterTargets(clusterId, clusterTargetsOf(cluster));
    }
    const dest = await createMoveDestination(blue, 'aws_mover');
    await createMoveDestination(green, 'aws_mover', dest.password);
    clientPassword = randomPassword('cli');
    const res = await invoke(makeCreate(deps), {
      method: 'POST',
      path: '/tenants',
      body: {
        tenantId: TENANT,
        client: { database: 'aws_mover', user: 'aws_mover', password: clientPassword },
        destination: { clusterId: 'blue', database: dest.database, user: dest.user, password: dest.password },
        pool: { size: 3, checkoutTimeout: 60, connectTimeout: 10 },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);

    const port = await freePort();
    const base = join(dir, 'pooler.yaml');
    writeFileSync(base, toYaml({ listen: { host: '127.0.0.1', port }, log_level: process.env.SWITCHYARD_TEST_LOG ?? 'info' }));
    pooler = await spawnPooler(['--source', 'aws', '--config', base], port, {
      keepOutput: 200_000,
      env: { ...process.env, ...env, AWS_ENDPOINT_URL: moto.server.endpoint, AWS_EC2_METADATA_DISABLED: 'true' },
    });
  }, 120_000);

  afterAll(async () => {
    await loop?.stop();
    await Promise.all(clients.map((c) => endQuietly(c)));
    await pooler?.stop();
    await cleanupDeps?.();
    await green?.stop().catch(() => undefined);
    await blue?.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('re-encrypts the destination password with KMS under the new cluster, and the pooler switches every client to it with no error', async () => {
    for (let i = 0; i < WRITERS; i++) {
      clients.push(await connectPg({ host: '127.0.0.1', port: pooler!.port, database: 'aws_mover', user: 'aws_mover', password: clientPassword }, { application_name: `aws-mover-${i}` }));
    }
    loop = new TxLoop(clients);
    await until(() => loop!.allOn(blue.port) || loop!.failures.length > 0, 60_000, 'every writer committing on blue');

    const res = await moveTenant({ deps }, TENANT, 1, { clusterId: 'green' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const movedAt = Date.now();
    pooler!.child.kill('SIGHUP');
    await until(() => loop!.allOn(green.port, movedAt) || loop!.failures.length > 0, 60_000, 'every writer committing on green');
    await loop.stop();

    const why = `failures: ${loop.failures.slice(0, 5).join('\n')}\n${pooler!.output().slice(-4000)}`;
    expect(loop.failures, why).toEqual([]);
    expect(clients.flatMap((c) => backgroundErrorsOf(c).map((e) => e.message)), why).toEqual([]);
    expect(loop.commits.filter((c) => c.port === green.port).length).toBeGreaterThan(0);
  }, 240_000);
});
