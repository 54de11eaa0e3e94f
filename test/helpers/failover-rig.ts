// A failover rig for the pooler's failover tests: a primary and a streaming standby (synchronous
// replication, so a commit the client saw acknowledged is on the standby), a local control-plane
// state directory holding the cluster (members, admin credentials), its published targets and one
// tenant routed through it, the pooler as a real process (`switchyard pooler --source local`),
// and a loop of clients writing through it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { toYaml } from '../../shared/src/yaml.ts';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import type { Endpoint } from '../../shared/src/domain/common.ts';
import { clusterAdminSecretContext, tenantSecretContext } from '../../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { freePort, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import type { ReloadPushResult } from '../../shared/src/ports/config-channel.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, sleep, until, type PgClient } from './clients.ts';
import { spawnPooler, type PoolerChild } from './pooler-process.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, superuserConn, type ConnSettings, type Destination } from './tenants.ts';

export const CLUSTER_ID = 'main';
export const TENANT_ID = 'failover-app';

export const ep = (s: { host: string; port: number }): Endpoint => ({ host: s.host, port: s.port });

export interface Rig {
  primary: PostgresServer;
  standby: PostgresServer;
  stateDir: string;
  adapters: Adapters;
  destination: Destination;
  client: { database: string; user: string; password: string };
}

/**
 * Starts the two servers, creates the destination role/database with a `writes` table, and
 * registers cluster + tenant in a fresh local state directory. `members` are the servers the
 * local topology may probe (what the pooler can discover on its own).
 */
export async function startRig(opts: { members: 'both' | 'primary-only'; rdsInstance?: string }): Promise<Rig> {
  const primary = await startPostgres();
  const standby = await startPostgres({ standbyOf: { host: primary.host, port: primary.port } });
  // Synchronous replication from now on (not before: start-up itself commits with no standby yet),
  // so an acknowledged commit is flushed on the standby too. The standby's copy of the settings
  // predates this, so once promoted it does not wait for a standby of its own.
  await primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'");
  await primary.psql("ALTER SYSTEM SET synchronous_commit = 'on'");
  await primary.psql('SELECT pg_reload_conf()');
  await until(async () => (await primary.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")) === '1', 30_000, 'the standby streaming synchronously');
  const destination = await createDestination(primary, { name: 'failover_app' });
  await primary.psql(
    'CREATE TABLE writes (writer int NOT NULL, seq int NOT NULL, port int NOT NULL DEFAULT inet_server_port(), PRIMARY KEY (writer, seq)); ALTER TABLE writes OWNER TO failover_app',
    destination.database,
  );
  const password = randomPassword('cli');
  const verifier = await scramVerifierFromPostgres(primary, password);

  const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-failover-'));
  const adapters = await createLocalAdapters(stateDir);
  const cluster = await adapters.clusters.create({
    clusterId: CLUSTER_ID,
    // As the local stack registers its cluster: RDS events naming the instance reach it, and the
    // local topology still probes the members.
    ...(opts.rdsInstance !== undefined ? { kind: 'rds-instance' as const, rds: { instanceIdentifier: opts.rdsInstance } } : { kind: 'static' as const }),
    writer: ep(primary),
    readers: [ep(standby)],
    members: opts.members === 'both' ? [ep(primary), ep(standby)] : [ep(primary)],
    admin: { user: 'postgres', passwordCiphertext: await adapters.secrets.encrypt(primary.superuserPassword, clusterAdminSecretContext(CLUSTER_ID)) },
  });
  await adapters.config.publishClusterTargets(CLUSTER_ID, clusterTargetsOf(cluster));
  const dest = { clusterId: CLUSTER_ID };
  await adapters.tenants.create({
    tenantId: TENANT_ID,
    client: { database: 'app', user: 'app_user' },
    clientAuth: { scram: verifier },
    destination: {
      ...dest,
      database: destination.database,
      user: destination.user,
      passwordCiphertext: await adapters.secrets.encrypt(destination.password, tenantSecretContext(TENANT_ID, dest)),
    },
    pool: { mode: 'transaction', size: 4, connectTimeout: 2, checkoutTimeout: 30 },
  });
  await adapters.config.bumpConfigVersion();
  return { primary, standby, stateDir, adapters, destination, client: { database: 'app', user: 'app_user', password } };
}

export async function stopRig(rig: Rig | undefined): Promise<void> {
  if (!rig) return;
  await rig.adapters.close();
  await rig.standby.stop().catch(() => undefined);
  await rig.primary.stop().catch(() => undefined);
  rmSync(rig.stateDir, { recursive: true, force: true });
}

/** What the control plane's failover handler does: store the new writer, publish it, bump, push. */
export async function publishWriter(rig: Rig, writer: Endpoint, readers: Endpoint[]): Promise<ReloadPushResult> {
  const c = (await rig.adapters.clusters.get(CLUSTER_ID))!;
  const next = await rig.adapters.clusters.update(CLUSTER_ID, c.version, { writer, readers, epoch: c.epoch + 1, lastEventTime: new Date().toISOString() });
  await rig.adapters.config.publishClusterTargets(CLUSTER_ID, clusterTargetsOf(next));
  await rig.adapters.config.bumpConfigVersion();
  return rig.adapters.config.pushReload();
}

// ---- the pooler process ----------------------------------------------------------------------

export type PoolerProcess = PoolerChild;

/** `switchyard pooler --source local --state-dir STATE` on a free port. */
export async function startPoolerProcess(stateDir: string, extra: Record<string, unknown> = {}): Promise<PoolerProcess> {
  const port = await freePort();
  const base = join(stateDir, 'pooler.yaml');
  writeFileSync(base, toYaml({ listen: { host: '127.0.0.1', port }, log_level: process.env.SWITCHYARD_TEST_LOG ?? 'info', ...extra }));
  return spawnPooler(['--source', 'local', '--state-dir', stateDir, '--config', base], port, { keepOutput: 200_000 });
}

/** A rig and its pooler for one test file (useFailoverRig). */
export interface RigEnv {
  /** Filled in by beforeAll. */
  readonly rig: Rig;
  readonly pooler: PoolerProcess;
  /** Runs in afterAll before the pooler and the servers stop (client loops, connections). */
  atEnd(fn: () => unknown): void;
}

/**
 * Starts a rig and its pooler in beforeAll and stops them in afterAll. `beforePooler` runs
 * between the two (e.g. to publish a target the pooler must see first).
 */
export function useFailoverRig(
  members: 'both' | 'primary-only',
  beforePooler?: (rig: Rig) => Promise<unknown>,
  opts: { rdsInstance?: string; poolerConfig?: Record<string, unknown> } = {},
): RigEnv {
  let rig: Rig | undefined;
  let pooler: PoolerProcess | undefined;
  const ends: Array<() => unknown> = [];
  beforeAll(async () => {
    rig = await startRig({ members, ...(opts.rdsInstance !== undefined ? { rdsInstance: opts.rdsInstance } : {}) });
    await beforePooler?.(rig);
    pooler = await startPoolerProcess(rig.stateDir, opts.poolerConfig);
  }, 120_000);
  afterAll(async () => {
    for (const fn of ends) await fn();
    await pooler?.stop();
    await stopRig(rig);
  });
  return {
    get rig() {
      if (!rig) throw new Error('the rig is not running (use it inside tests)');
      return rig;
    },
    get pooler() {
      if (!pooler) throw new Error('the pooler is not running (use it inside tests)');
      return pooler;
    },
    atEnd: (fn) => void ends.push(fn),
  };
}

export function poolerSettings(p: { port: number }, rig: Rig): ConnSettings {
  return { host: '127.0.0.1', port: p.port, ...rig.client };
}

// ---- the write loop --------------------------------------------------------------------------

export interface Ack {
  writer: number;
  seq: number;
  at: number;
}

export interface Failure extends Ack {
  code: string | undefined;
  message: string;
}

/**
 * `n` clients, each inserting (writer, seq) in a loop with a short pause. Every client keeps its
 * one connection for the whole test: a client whose connection dies is recorded as lost.
 */
export class WriteLoop {
  readonly clients: PgClient[] = [];
  readonly acked: Ack[] = [];
  readonly failed: Failure[] = [];
  readonly lost = new Set<number>();
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #parked = 0;
  #stopped = false;
  #loops: Promise<void>[] = [];

  static async start(c: ConnSettings, n: number): Promise<WriteLoop> {
    const loop = new WriteLoop();
    for (let i = 0; i < n; i++) loop.clients.push(await connectPg(c, { application_name: `writer-${i}` }));
    loop.#loops = loop.clients.map((client, i) => loop.#run(client, i));
    return loop;
  }

  async #run(c: PgClient, writer: number): Promise<void> {
    let seq = 0;
    while (!this.#stopped) {
      if (this.#gate) {
        this.#parked++;
        await this.#gate;
        this.#parked--;
      }
      const s = seq++;
      try {
        await c.query('INSERT INTO writes (writer, seq) VALUES ($1, $2)', [writer, s]);
        this.acked.push({ writer, seq: s, at: Date.now() });
      } catch (err) {
        const e = pgErrorInfo(err);
        this.failed.push({ writer, seq: s, at: Date.now(), code: e.code, message: e.message });
        if (backgroundErrorsOf(c).length > 0 || /terminated|not queryable|ECONNRESET/i.test(e.message)) {
          this.lost.add(writer);
          return;
        }
      }
      await sleep(5);
    }
  }

  /** Lets each client finish its statement, then holds them all before the next one. */
  async pause(): Promise<void> {
    this.#gate = new Promise((r) => (this.#open = r));
    await until(() => this.#parked + this.lost.size === this.clients.length, 30_000, 'every writer parked');
  }

  resume(): void {
    this.#gate = undefined;
    this.#open?.();
  }

  acksAfter(t: number): Ack[] {
    return this.acked.filter((a) => a.at >= t);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.resume();
    await Promise.all(this.#loops);
  }

  async end(): Promise<void> {
    await this.stop();
    await Promise.all(this.clients.map((c) => endQuietly(c)));
  }

  /** Every client still has its connection and saw no asynchronous error. */
  connectionErrors(): string[] {
    return this.clients.flatMap((c, i) => backgroundErrorsOf(c).map((e) => `writer ${i}: ${e.message}`));
  }
}

/** (writer, seq) pairs stored on `server`, as "w:s" strings. */
export async function storedWrites(server: PostgresServer, database: string): Promise<Set<string>> {
  const c = await connectPg(superuserConn(server, database));
  try {
    const r = await c.query<{ writer: number; seq: number }>('SELECT writer, seq FROM writes');
    return new Set(r.rows.map((x) => `${x.writer}:${x.seq}`));
  } finally {
    await c.end();
  }
}
