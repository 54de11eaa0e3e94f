// A rig for moving tenants (PATCH /tenants/{id} with `destination`): two PostgreSQL servers
// registered as the static clusters "blue" and "green" through the API (POST /clusters), a local
// control-plane state directory, tenants created through POST /tenants (so their destination
// passwords are encrypted the way the API does it), and the pooler as a real process
// (`switchyard pooler --source local`) that the API's announce reaches with SIGHUP.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { makeHandler as makeCreateTenant } from '../../functions/api/tenants-create.ts';
import { makeHandler as makeUpdateTenant } from '../../functions/api/tenants-update.ts';
import type { Deps } from '../../functions/lib/deps.ts';
import { invoke, localTestDeps, type InvokeResult, type LocalTestDeps } from '../../functions/testing/test-deps.ts';
import type { PoolSettingsInput } from '../../shared/src/domain/tenant.ts';
import { freePort, startPostgres, type PostgresServer, type PostgresServerOptions } from '../../shared/src/local/postgres-server.ts';
import { toYaml } from '../../shared/src/yaml.ts';
import { connectPg, pgErrorInfo, sleep, type PgClient } from './clients.ts';
import type { PoolerProcess } from './failover-rig.ts';
import { spawnPooler } from './pooler-process.ts';
import { registerStaticCluster } from './provisioning.ts';
import { createDestination, randomPassword, superuserConn, type ConnSettings, type Destination } from './tenants.ts';

export interface MoveRig {
  blue: PostgresServer;
  green: PostgresServer;
  cp: LocalTestDeps;
  pooler: PoolerProcess;
}

/**
 * A destination role + database on `server` with a `writes` table the role owns; each row records
 * the server port it was written on.
 */
export async function createMoveDestination(server: PostgresServer, name: string, password?: string): Promise<Destination> {
  const d = await createDestination(server, { name, ...(password !== undefined ? { password } : {}) });
  await server.psql(
    // id: a sequence, which logical replication does not carry (the recipe's setval step);
    // written_at: when the row was written, by the server's clock (the machine's, as Date.now()).
    `CREATE TABLE writes (writer int NOT NULL, seq int NOT NULL, port int NOT NULL DEFAULT inet_server_port(), id bigserial UNIQUE, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (writer, seq)); ` +
      `ALTER TABLE writes OWNER TO ${name}`,
    d.database,
  );
  return d;
}

/** Creates a tenant through POST /tenants on `clusterId`; returns the client's connection settings (pooler port filled in by the caller). */
export async function createTenantViaApi(
  cp: { deps: Deps },
  opts: { tenantId: string; clusterId: string; destination: Destination; pool: PoolSettingsInput },
): Promise<Omit<ConnSettings, 'host' | 'port'>> {
  const client = { database: `app_${opts.tenantId.replaceAll('-', '_')}`, user: `usr_${opts.tenantId.replaceAll('-', '_')}`, password: randomPassword('cli') };
  const res = await invoke(makeCreateTenant(cp.deps), {
    method: 'POST',
    path: '/tenants',
    body: {
      tenantId: opts.tenantId,
      client,
      destination: { clusterId: opts.clusterId, database: opts.destination.database, user: opts.destination.user, password: opts.destination.password },
      pool: opts.pool,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return client;
}

/** PATCH /tenants/{id} with a destination change, under If-Match. */
export function moveTenant(cp: { deps: Deps }, tenantId: string, version: number, destination: Record<string, unknown>): Promise<InvokeResult> {
  return invoke(makeUpdateTenant(cp.deps), {
    method: 'PATCH',
    path: `/tenants/${tenantId}`,
    pathParameters: { id: tenantId },
    headers: { 'if-match': `"${version}"` },
    body: { destination },
  });
}

/** Sessions of `role` on `server` (the pooler's server connections there), counted by PostgreSQL. */
export async function sessionsOf(server: PostgresServer, role: string): Promise<number> {
  return Number(await server.psql(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${role}'`));
}

/** (writer, seq, port) rows stored on `server` in `database`. */
export async function writesOn(server: PostgresServer, database: string): Promise<{ writer: number; seq: number; port: number }[]> {
  const c = await connectPg(superuserConn(server, database));
  try {
    return (await c.query<{ writer: number; seq: number; port: number }>('SELECT writer, seq, port FROM writes ORDER BY writer, seq')).rows;
  } finally {
    await c.end();
  }
}

/** `switchyard pooler --source local --state-dir STATE` on a free port, with `extra` in its base config file. */
async function startPooler(stateDir: string, extra: Record<string, unknown>): Promise<PoolerProcess> {
  const port = await freePort();
  const base = join(stateDir, 'pooler.yaml');
  writeFileSync(base, toYaml({ listen: { host: '127.0.0.1', port }, log_level: process.env.SWITCHYARD_TEST_LOG ?? 'info', ...extra }));
  return spawnPooler(['--source', 'local', '--state-dir', stateDir, '--config', base], port, { keepOutput: 200_000 });
}

export interface MoveRigOptions {
  /** Settings of the blue server (e.g. wal_level = logical for the replication recipe). */
  blue?: PostgresServerOptions;
  /** Returns extra keys of the pooler's base config file (e.g. admin users); called after setup. */
  poolerConfig?: () => Record<string, unknown>;
}

/**
 * Starts the servers and registers them as clusters in beforeAll, runs `setup` (tenants), starts
 * the pooler; stops everything in afterAll (after the `atEnd` callbacks).
 */
export function useMoveRig(setup: (rig: Omit<MoveRig, 'pooler'>) => Promise<void>, opts: MoveRigOptions = {}): { readonly rig: MoveRig; atEnd(fn: () => unknown): void } {
  let rig: Partial<MoveRig> = {};
  const ends: Array<() => unknown> = [];
  beforeAll(async () => {
    rig.blue = await startPostgres(opts.blue ?? {});
    rig.green = await startPostgres();
    rig.cp = await localTestDeps();
    await registerStaticCluster(rig.cp.deps, 'blue', rig.blue);
    await registerStaticCluster(rig.cp.deps, 'green', rig.green);
    await setup(rig as Omit<MoveRig, 'pooler'>);
    rig.pooler = await startPooler(rig.cp.stateDir, opts.poolerConfig?.() ?? {});
  }, 120_000);
  afterAll(async () => {
    for (const fn of ends) await fn();
    await rig.pooler?.stop();
    await rig.cp?.cleanup();
    await rig.green?.stop().catch(() => undefined);
    await rig.blue?.stop().catch(() => undefined);
    rig = {};
  });
  return {
    get rig() {
      if (!rig.pooler) throw new Error('the move rig is not running (use it inside tests)');
      return rig as MoveRig;
    },
    atEnd: (fn) => void ends.push(fn),
  };
}

export interface Commit {
  writer: number;
  seq: number;
  port: number;
  /** current_database() of the server connection that ran it. */
  db: string;
  /** When the transaction's BEGIN was sent, and when its COMMIT was acknowledged. */
  began: number;
  at: number;
}

/**
 * Each client runs short write transactions in a loop (BEGIN; INSERT ... RETURNING the server
 * port; COMMIT), recording every acknowledged commit and stopping at its first error. Odd writers
 * use a named prepared statement, which the pooler must prepare again on a new server.
 */
export class TxLoop {
  readonly commits: Commit[] = [];
  readonly failures: string[] = [];
  #stopped = false;
  #loops: Promise<void>[] = [];
  /** Writer ids are firstWriter, firstWriter + 1, ... (distinct keys for a second loop on the same table). */
  readonly firstWriter: number;
  constructor(clients: PgClient[], firstWriter = 0) {
    this.firstWriter = firstWriter;
    this.#loops = clients.map((c, i) => this.#run(c, firstWriter + i));
  }

  async #run(c: PgClient, writer: number): Promise<void> {
    const text = 'INSERT INTO writes (writer, seq) VALUES ($1, $2) RETURNING port, current_database() AS db';
    for (let seq = 0; !this.#stopped; seq++) {
      const began = Date.now();
      try {
        await c.query('BEGIN');
        const values = [writer, seq];
        const r = await c.query<{ port: number; db: string }>(writer % 2 === 1 ? { name: 'move-insert', text, values } : { text, values });
        await c.query('COMMIT');
        this.commits.push({ writer, seq, port: r.rows[0]!.port, db: r.rows[0]!.db, began, at: Date.now() });
      } catch (err) {
        const e = pgErrorInfo(err);
        this.failures.push(`writer ${writer} seq ${seq}: ${e.code ?? ''} ${e.message}`);
        return;
      }
      await sleep(2);
    }
  }

  /** The writer ids of this loop. */
  get writers(): number[] {
    return this.#loops.map((_, i) => this.firstWriter + i);
  }

  /** Has every writer committed on `port` (BEGIN sent at or after `since`)? */
  allOn(port: number, since = 0): boolean {
    return this.writers.every((w) => this.commits.some((c) => c.writer === w && c.port === port && c.began >= since));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}
