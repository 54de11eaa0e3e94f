// A cluster's connection budget is shared by its tenants on demand (docs/fleet.md): one pooler on
// the local source, a cluster with a budget of 2, two tenants of size 5 each. PostgreSQL never
// sees more than 2 server connections of the two tenants together (pg_stat_activity, sampled
// throughout), yet neither tenant is starved: the other's idle connections close to make room,
// and a connection given back by a tenant whose clients are not waiting goes to the one that waits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { tenantSecretContext } from '../../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { freePort, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { connectPg, endQuietly, until, within, type PgClient } from '../helpers/clients.ts';
import { spawnPooler, type PoolerChild } from '../helpers/pooler-process.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, superuserConn } from '../helpers/tenants.ts';

const BUDGET = 2;
/** A hang detector: a client that waits for room gets it long before this. */
const ROOM_BOUND_MS = 20_000;

describe('a cluster budget is shared by its tenants on demand, never exceeded', () => {
  let pg: PostgresServer;
  let stateDir: string;
  let adapters: Adapters;
  let pooler: PoolerChild;
  let admin: PgClient;
  const logins: Array<{ database: string; user: string; password: string; serverUser: string }> = [];
  const clients: PgClient[] = [];
  let stop = false;
  let sampler: Promise<void> | undefined;
  let maxTotal = 0;

  const connect = async (i: number): Promise<PgClient> => {
    const c = await connectPg({ host: '127.0.0.1', port: pooler.port, database: logins[i]!.database, user: logins[i]!.user, password: logins[i]!.password });
    clients.push(c);
    return c;
  };
  const servers = async (i: number): Promise<number> =>
    (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [logins[i]!.serverUser])).rows[0]!.n;

  beforeAll(async () => {
    pg = await startPostgres();
    stateDir = mkdtempSync(join(tmpdir(), 'switchyard-cluster-budget-'));
    adapters = await createLocalAdapters(stateDir);
    const cluster = await adapters.clusters.create({ clusterId: 'small', kind: 'static', writer: { host: pg.host, port: pg.port }, connectionBudget: BUDGET });
    await adapters.config.publishClusterTargets('small', clusterTargetsOf(cluster));
    for (const name of ['cba', 'cbb']) {
      const dest = await createDestination(pg, { name });
      const password = randomPassword('cli');
      const ctx = { clusterId: 'small' };
      await adapters.tenants.create({
        tenantId: `tenant-${name}`,
        client: { database: `app_${name}`, user: `usr_${name}` },
        clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
        destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await adapters.secrets.encrypt(dest.password, tenantSecretContext(`tenant-${name}`, ctx)) },
        pool: { size: 5, checkoutTimeout: 60 },
      });
      logins.push({ database: `app_${name}`, user: `usr_${name}`, password, serverUser: dest.user });
    }
    await adapters.config.bumpConfigVersion();
    const port = await freePort();
    const file = join(stateDir, 'pooler.yaml');
    writeFileSync(file, `listen: { host: 127.0.0.1, port: ${port} }\nlog_level: warn\n`);
    pooler = await spawnPooler(['--source', 'local', '--state-dir', stateDir, '--config', file], port, { keepOutput: 20_000 });
    admin = await connectPg(superuserConn(pg));
    sampler = (async () => {
      while (!stop) {
        const r = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1)', [logins.map((l) => l.serverUser)]);
        maxTotal = Math.max(maxTotal, r.rows[0]!.n);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
  }, 120_000);

  afterAll(async () => {
    stop = true;
    await sampler?.catch(() => undefined);
    await Promise.all(clients.map((c) => endQuietly(c)));
    await pooler?.stop();
    await endQuietly(admin);
    await adapters?.close();
    await pg?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('closes one tenant’s idle connections for the other, and hands over a connection given back', async () => {
    // Tenant A takes the whole budget, then goes idle: its 2 connections sit in its pool.
    const [a1, a2] = [await connect(0), await connect(0)];
    await Promise.all([a1.query('BEGIN'), a2.query('BEGIN')]);
    await Promise.all([a1.query('SELECT 1'), a2.query('SELECT 1')]);
    await Promise.all([a1.query('COMMIT'), a2.query('COMMIT')]);
    expect(await servers(0)).toBe(BUDGET);

    // Tenant B needs one: an idle one of A's closes to make room.
    const b1 = await connect(1);
    expect((await within(b1.query<{ v: number }>('SELECT 7 AS v'), ROOM_BOUND_MS, 'B to get a connection')).rows).toEqual([{ v: 7 }]);

    // Now both of A's clients hold a transaction open (A gets its room back from B's idle one)…
    await within(Promise.all([a1.query('BEGIN'), a2.query('BEGIN')]), ROOM_BOUND_MS, 'A to begin twice');
    await within(Promise.all([a1.query('SELECT 1'), a2.query('SELECT 1')]), ROOM_BOUND_MS, 'A to run in both');
    // …so B waits: nothing is idle anywhere.
    let bDone = false;
    const b = b1.query<{ v: number }>('SELECT 8 AS v').finally(() => (bDone = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(bDone).toBe(false);
    // A commits one: with none of A's clients waiting, the connection goes to B.
    await a1.query('COMMIT');
    expect((await within(b, ROOM_BOUND_MS, 'B to get the connection A gave back')).rows).toEqual([{ v: 8 }]);
    await a2.query('COMMIT');

    await until(async () => (await servers(0)) + (await servers(1)) <= BUDGET, 5000, 'the pools to settle');
    expect(maxTotal, 'server connections of the cluster’s tenants, sampled throughout').toBeLessThanOrEqual(BUDGET);
    expect(maxTotal).toBe(BUDGET);
  }, 120_000);
});
