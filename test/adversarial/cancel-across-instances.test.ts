// Cancel behind a load balancer. A CancelRequest comes on a NEW connection (protocol docs,
// "Canceling Requests in Progress"), which the NLB may hand to any instance of the fleet. Each
// pooler instance therefore needs its own node id (carried in the cancel keys it issues), and must
// know where the others take forwarded cancels — without per-instance manual configuration, since
// the Auto Scaling group starts identical instances from one user data.
//
// Two `switchyard pooler` processes run as two instances would: with the AWS source against moto
// and the very pooler.yaml the stack's user data writes (only ports and the private IP filled in
// for one machine), and with the local source sharing one state directory (single processes, and
// two machines of `--workers 2`, whose supervisors lease a node id per worker). A long query on one
// instance is cancelled (57014) by a CancelRequest sent to the other; the two instances hold
// distinct node ids leased in the store with their peer addresses; a wrong secret cancels nothing
// however it travels; and a cancel arriving on the peer port is never forwarded again (one hop at
// most: no loops, no amplification).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeOf } from '../../pooler/src/frontend/cancel-keys.ts';
import { createAwsAdapters } from '../../shared/src/aws/adapters.ts';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { freePort, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from '../helpers/clients.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from '../helpers/moto.ts';
import { spawnPooler } from '../helpers/pooler-process.ts';
import { sendCancel } from '../helpers/raw-protocol.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, superuserConn, type Destination } from '../helpers/tenants.ts';
import { sampleUserData, userDataPoolerYaml } from '../helpers/user-data.ts';
import { startWorkersPooler } from '../helpers/workers.ts';

const SLEEP_S = 30;
/** A hang detector, far below SLEEP_S: the cancelled query must end long before it would finish. */
const CANCEL_BOUND_MS = 15_000;

interface Instance {
  readonly proc: { readonly host: string; readonly port: number; stop(): Promise<unknown> };
  /** Where this instance takes cancels forwarded by its peers. */
  readonly peerPort: number;
}

interface Rig {
  pg: PostgresServer;
  adapters: Adapters;
  instances: Instance[];
  /** Node ids each instance leases: 1, or one per worker. */
  idsPerInstance: number;
  login: { database: string; user: string; password: string };
  dest: Destination;
}

/** A static cluster on `pg` and one tenant on it, published; returns the tenant's login. */
async function addTenant(pg: PostgresServer, a: Adapters, clusterId: string): Promise<{ login: Rig['login']; dest: Destination }> {
  const cluster = await a.clusters.create({ clusterId, kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [] });
  await a.config.publishClusterTargets(clusterId, clusterTargetsOf(cluster));
  const name = 'xinst';
  const dest = await createDestination(pg, { name });
  const password = randomPassword('cli');
  const ctx = { clusterId };
  await a.tenants.create({
    tenantId: 'xinst',
    client: { database: `app_${name}`, user: `usr_${name}` },
    clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
    destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await a.secrets.encrypt(dest.password, tenantSecretContext('xinst', ctx)) },
    pool: { size: 4 },
  });
  await a.config.bumpConfigVersion();
  return { login: { database: `app_${name}`, user: `usr_${name}`, password }, dest };
}

function keyOf(c: PgClient): { processId: number; secretKey: number } {
  const k = c as unknown as { processID: number | null; secretKey: number | null };
  if (k.processID === null || k.secretKey === null) throw new Error('no BackendKeyData received');
  return { processId: k.processID, secretKey: k.secretKey };
}

/** The behaviour both sources must give; `start` builds the rig (PostgreSQL, store, two instances). */
function cancelAcrossInstances(start: () => Promise<Rig>): void {
  let rig: Rig;
  let admin: PgClient;
  const clients: PgClient[] = [];

  beforeAll(async () => {
    rig = await start();
    admin = await connectPg(superuserConn(rig.pg));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => endQuietly(c)));
    await endQuietly(admin);
    for (const i of rig?.instances ?? []) await i.proc.stop();
    await rig?.adapters.close();
    await rig?.pg.stop();
  });

  async function connectTo(i: Instance): Promise<PgClient> {
    const c = await connectPg({ host: '127.0.0.1', port: i.proc.port, ...rig.login });
    clients.push(c);
    return c;
  }

  async function sleeping(): Promise<void> {
    await until(
      async () => {
        const r = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
          [rig.dest.database],
        );
        return (r.rows[0]?.n ?? 0) > 0;
      },
      10_000,
      'pg_sleep to be running',
    );
  }

  it.each([
    { from: 0, to: 1 },
    { from: 1, to: 0 },
  ])('a CancelRequest sent to instance $to cancels the query running through instance $from (57014)', async ({ from, to }) => {
    const c = await connectTo(rig.instances[from]!);
    const running = rejectionOf(c.query(`SELECT pg_sleep(${SLEEP_S})`));
    await sleeping();
    const k = keyOf(c);
    const other = rig.instances[to]!.proc;
    await sendCancel(other.host, other.port, k.processId, k.secretKey);
    const err = pgErrorInfo(await within(running, CANCEL_BOUND_MS, 'the query cancelled through the other instance to end'));
    expect(err.code, err.message).toBe('57014');
    expect((await c.query<{ v: number }>('SELECT $1::int AS v', [7])).rows).toEqual([{ v: 7 }]);
  });

  it('gives each instance its own node id, leased in the store with the address its peers forward to', async () => {
    const [a, b] = [await connectTo(rig.instances[0]!), await connectTo(rig.instances[1]!)];
    const nodes = [nodeOf(keyOf(a).processId), nodeOf(keyOf(b).processId)];
    expect(nodes[0]).not.toBe(nodes[1]);
    const now = Date.now();
    const live = (await rig.adapters.nodes.list()).filter((l) => l.expiresAtMs > now);
    expect(live).toHaveLength(2 * rig.idsPerInstance);
    for (const [i, node] of nodes.entries()) {
      expect(live.find((l) => l.nodeId === node)).toMatchObject({ host: '127.0.0.1', port: rig.instances[i]!.peerPort });
      expect(live.filter((l) => l.port === rig.instances[i]!.peerPort)).toHaveLength(rig.idsPerInstance);
    }
  });

  it('a wrong secret cancels nothing, sent to the other instance or straight to the owner’s peer port', async () => {
    const c = await connectTo(rig.instances[0]!);
    const running = c.query<{ done: string }>("SELECT pg_sleep(1.5), 'finished' AS done");
    running.catch(() => undefined); // awaited below; no unhandled rejection if a step before fails
    await sleeping();
    const k = keyOf(c);
    const wrong = (k.secretKey + 1) | 0;
    await sendCancel('127.0.0.1', rig.instances[1]!.proc.port, k.processId, wrong);
    await sendCancel('127.0.0.1', rig.instances[0]!.peerPort, k.processId, wrong);
    expect((await within(running, CANCEL_BOUND_MS, 'the query to finish')).rows[0]?.done).toBe('finished');
  });

  it('never forwards a cancel that arrived on the peer port (one hop at most: no loops)', async () => {
    const c = await connectTo(rig.instances[0]!);
    const running = c.query<{ done: string }>("SELECT pg_sleep(1.5), 'finished' AS done");
    running.catch(() => undefined); // awaited below; no unhandled rejection if a step before fails
    await sleeping();
    const k = keyOf(c);
    // The right key, but at the peer port of an instance that did not issue it: dropped there.
    await sendCancel('127.0.0.1', rig.instances[1]!.peerPort, k.processId, k.secretKey);
    expect((await within(running, CANCEL_BOUND_MS, 'the query to finish')).rows[0]?.done).toBe('finished');
  });
}

describeWithMoto('cancel across instances: --source aws with the user data’s pooler.yaml (moto)', () => {
  useMoto();
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  cancelAcrossInstances(async () => {
    const pg = await startPostgres();
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-xinst');
    dynamodb.destroy();
    const kms = new KMSClient({});
    const key = await kms.send(new CreateKeyCommand({ Description: 'switchyard cancel across instances' }));
    kms.destroy();
    const env = { SWITCHYARD_TABLE: 'switchyard-xinst', SWITCHYARD_KMS_KEY_ID: key.KeyMetadata?.KeyId ?? '', SWITCHYARD_STAGE: 'xinst' };
    const adapters = createAwsAdapters(env);
    const { login, dest } = await addTenant(pg, adapters, 'main');
    const script = sampleUserData();
    const instances: Instance[] = [];
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-xinst-aws-'));
      dirs.push(dir);
      const [port, healthPort, peerPort] = [await freePort(), await freePort(), await freePort()];
      const file = join(dir, 'pooler.yaml');
      // As on an instance; one machine stands in for two, so each gets its own ports.
      const yaml = userDataPoolerYaml(script, { LISTEN_PORT: String(port), HEALTH_PORT: String(healthPort), CANCEL_PORT: String(peerPort), PRIVATE_IP: '127.0.0.1' });
      writeFileSync(file, `${yaml}\nlog_level: warn\n`);
      const proc = await spawnPooler(['--source', 'aws', '--config', file], port, {
        keepOutput: 20_000,
        env: { ...process.env, ...env, AWS_EC2_METADATA_DISABLED: 'true', SWITCHYARD_POOLER_ID: `xinst-${i}` },
      });
      instances.push({ proc, peerPort });
    }
    return { pg, adapters, instances, login, dest, idsPerInstance: 1 };
  });
});

describe('cancel across instances: --source local, two poolers on one state directory', () => {
  let stateDir: string;
  afterAll(() => {
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  cancelAcrossInstances(async () => {
    const pg = await startPostgres();
    stateDir = mkdtempSync(join(tmpdir(), 'switchyard-xinst-local-'));
    const adapters = await createLocalAdapters(stateDir);
    const { login, dest } = await addTenant(pg, adapters, 'local');
    const instances: Instance[] = [];
    for (let i = 0; i < 2; i++) {
      const [port, peerPort] = [await freePort(), await freePort()];
      const file = join(stateDir, `pooler-${i}.yaml`);
      writeFileSync(
        file,
        [
          `listen: { host: 127.0.0.1, port: ${port} }`,
          'log_level: warn',
          `cluster: { node_id: auto, peer_port: ${peerPort}, advertise_host: 127.0.0.1 }`,
          '',
        ].join('\n'),
      );
      const proc = await spawnPooler(['--source', 'local', '--state-dir', stateDir, '--config', file], port, { keepOutput: 20_000 });
      instances.push({ proc, peerPort });
    }
    return { pg, adapters, instances, login, dest, idsPerInstance: 1 };
  });
});

describe('cancel across instances: --source local, two machines with --workers 2 each', () => {
  let stateDir: string;
  afterAll(() => {
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  cancelAcrossInstances(async () => {
    const pg = await startPostgres();
    stateDir = mkdtempSync(join(tmpdir(), 'switchyard-xinst-workers-'));
    const adapters = await createLocalAdapters(stateDir);
    const { login, dest } = await addTenant(pg, adapters, 'local');
    const instances: Instance[] = [];
    for (let i = 0; i < 2; i++) {
      const peerPort = await freePort();
      // Each machine's supervisor leases one node id per worker and serves the peer port.
      const proc = await startWorkersPooler({ log_level: 'info', cluster: { node_id: 'auto', peer_port: peerPort, advertise_host: '127.0.0.1' } }, stateDir, 2, {
        sourceArgs: ['--source', 'local', '--state-dir', stateDir],
      });
      instances.push({ proc, peerPort });
    }
    return { pg, adapters, instances, login, dest, idsPerInstance: 2 };
  });
});
