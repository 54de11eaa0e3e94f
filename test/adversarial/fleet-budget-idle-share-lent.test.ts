// Fleet budgets lend idle shares (docs/fleet.md, "Idle shares are lent"): three pooler processes on
// one local state directory, and a tenant of size 2 — less than one connection per pooler, so an
// even split leaves one pooler with no share at all. All the tenant's clients come through that
// pooler (as a load balancer may well send them): the two others, asked for nothing, lend it their
// shares, and it serves the clients with both connections; pg_stat_activity, sampled throughout,
// never shows more than 2. Then clients arrive at a lender: it takes its share back (the borrower
// gives it up first) and serves them too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterTargetsOf } from '../../shared/src/domain/cluster-targets.ts';
import { demandKey, shareOf } from '../../shared/src/domain/budget.ts';
import { tenantSecretContext } from '../../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { freePort, startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { connectPg, endQuietly, until, type PgClient } from '../helpers/clients.ts';
import { spawnPooler, type PoolerChild } from '../helpers/pooler-process.ts';
import { createDestination, randomPassword, scramVerifierFromPostgres, superuserConn } from '../helpers/tenants.ts';

const SIZE = 2;
const TENANT = 'tenant-lend';
const LEASE_TTL_S = 4;

let pg: PostgresServer;
let adapters: Adapters;
let admin: PgClient;
let stateDir: string;
let serverUser: string;
let password: string;
const poolers: PoolerChild[] = [];
const ports: number[] = [];
let stop = false;
let sampler: Promise<void> | undefined;
let maxSeen = 0;
let last = 0;
const loops: Promise<void>[] = [];
let failures = 0;
/** Transactions done per pooler's clients. */
const served = [0, 0, 0];

beforeAll(async () => {
  pg = await startPostgres();
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-lend-'));
  adapters = await createLocalAdapters(stateDir);
  const cluster = await adapters.clusters.create({ clusterId: 'lend', kind: 'static', writer: { host: pg.host, port: pg.port }, readers: [], connectionBudget: 20 });
  await adapters.config.publishClusterTargets('lend', clusterTargetsOf(cluster));
  const dest = await createDestination(pg, { name: 'lend' });
  serverUser = dest.user;
  password = randomPassword('cli');
  const ctx = { clusterId: 'lend' };
  await adapters.tenants.create({
    tenantId: TENANT,
    client: { database: 'app_lend', user: 'usr_lend' },
    clientAuth: { scram: await scramVerifierFromPostgres(pg, password) },
    destination: { ...ctx, database: dest.database, user: dest.user, passwordCiphertext: await adapters.secrets.encrypt(dest.password, tenantSecretContext(TENANT, ctx)) },
    pool: { size: SIZE, checkoutTimeout: 120 },
  });
  await adapters.config.bumpConfigVersion();
  admin = await connectPg(superuserConn(pg));
  sampler = (async () => {
    while (!stop) {
      const r = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [serverUser]);
      last = r.rows[0]!.n;
      maxSeen = Math.max(maxSeen, last);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  // Three poolers, joined one after the other: ranks 0, 1, 2 in the lease row.
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    ports.push(port);
    const file = join(stateDir, `pooler-${i}.yaml`);
    writeFileSync(file, [`listen: { host: 127.0.0.1, port: ${port} }`, 'log_level: warn', `fleet_budgets: { lease_ttl: ${LEASE_TTL_S} }`, ''].join('\n'));
    poolers.push(await spawnPooler(['--source', 'local', '--state-dir', stateDir, '--config', file], port, { keepOutput: 20_000, env: { ...process.env, SWITCHYARD_POOLER_ID: `lend-${i}` } }));
    await until(async () => (await adapters.budgets.read())?.members.length === i + 1, 60_000, `pooler ${i} in the lease row`);
  }
}, 180_000);

afterAll(async () => {
  stop = true;
  await Promise.allSettled(loops);
  await sampler?.catch(() => undefined);
  for (const p of poolers) await p.stop();
  await endQuietly(admin);
  await adapters?.close();
  await pg?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

/** A client running short transactions through pooler `i` until the test ends. */
async function clientLoop(i: number): Promise<void> {
  const c = await connectPg({ host: '127.0.0.1', port: ports[i]!, database: 'app_lend', user: 'usr_lend', password });
  try {
    while (!stop) {
      await c.query('SELECT pg_sleep(0.02)');
      served[i]!++;
    }
  } catch {
    failures++;
  } finally {
    await endQuietly(c);
  }
}

it('poolers asked for nothing lend their shares to the one whose clients need them, never above the size', async () => {
  // The pooler whose even share of the size is 0 (size 2 over 3 poolers).
  const starved = [0, 1, 2].find((r) => shareOf(SIZE, TENANT, r, 3) === 0)!;
  for (let k = 0; k < 4; k++) loops.push(clientLoop(starved));
  // The others lend: it holds both connections, and they are in use.
  await until(() => last >= SIZE, 60_000, 'the starved pooler to use the whole size');
  const row = (await adapters.budgets.read())!;
  expect(row.members.find((m) => m.poolerId === `lend-${starved}`)?.want).toContain(demandKey('tenant', TENANT));
  expect(row.members.filter((m) => m.give?.includes(demandKey('tenant', TENANT))).length).toBe(2);

  // Clients come to a lender: it stops lending, gets its share back, and serves them.
  const lender = (starved + 1) % 3;
  loops.push(clientLoop(lender));
  await until(async () => !(await adapters.budgets.read())!.members.find((m) => m.poolerId === `lend-${lender}`)?.give?.includes(demandKey('tenant', TENANT)), 60_000, 'the lender to take its share back');
  const before = [...served];
  await until(() => served[lender]! >= 20 && served[starved]! >= before[starved]! + 20, 60_000, 'both poolers’ clients to be served');
  expect(failures).toBe(0);
  expect(maxSeen, 'server connections of the tenant, over every sample').toBeLessThanOrEqual(SIZE);
}, 240_000);
