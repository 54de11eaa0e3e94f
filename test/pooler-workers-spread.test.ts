// `switchyard pooler --workers 2`: two worker processes share the client port (SO_REUSEPORT), the
// kernel spreads pgbench's 20 connections across both, and the admin console — a session on one
// of the workers — shows the machine: SHOW CLIENTS lists the clients of both workers (ptr tagged
// with the worker), SHOW POOLS sums them per tenant. The pool size is the machine's: the two
// workers together open at most pool.size server connections.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { destinationBackendPids } from './helpers/backends.ts';
import { pgbench, until } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';
import { clientsPerWorker, type WorkersPooler, startWorkersPooler } from './helpers/workers.ts';

const CLIENTS = 20;
const POOL_SIZE = 4;
const HANG_MS = 20_000;

let pg: PostgresServer;
let tenant: TestTenant;
let admin: AdminLogin;
let dir: string;
let pooler: WorkersPooler | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'spread', pool: { mode: 'transaction', size: POOL_SIZE } });
  const init = await pgbench(destinationConn(tenant), ['-i', '-s', '1', '-q']);
  expect(init.code, init.stderr).toBe(0);
  admin = await createAdminLogin(pg);
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-spread-'));
  pooler = await startWorkersPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), dir, 2);
});

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function backendsOfDestination(): Promise<number> {
  return (await destinationBackendPids(pg, tenant)).length;
}

it('runs two worker processes', () => {
  expect(pooler!.workerPids()).toHaveLength(2);
});

it('spreads pgbench -c 20 across both workers; SHOW CLIENTS lists both, SHOW POOLS sums them', async () => {
  const run = pgbench(poolerConn(pooler!, tenant), ['-n', '-S', '-c', String(CLIENTS), '-j', '2', '-T', '8']);
  let perWorker = new Map<number, number>();
  let pool: Record<string, unknown> | undefined;
  await until(
    async () => {
      perWorker = clientsPerWorker(await adminRows(pooler!, admin, 'SHOW CLIENTS'), tenant.id);
      return [...perWorker.values()].reduce((a, b) => a + b, 0) === CLIENTS;
    },
    HANG_MS,
    `all ${CLIENTS} pgbench clients to be logged in`,
  );
  pool = (await adminRows(pooler!, admin, 'SHOW POOLS')).find((r) => r.database === tenant.id);
  const serverConnections = await backendsOfDestination();
  const r = await run;
  expect(r.code, r.stderr).toBe(0);
  expect(r.failed ?? 0).toBe(0);

  // Both workers serve clients; neither alone holds all of them.
  expect([...perWorker.keys()].sort()).toEqual([1, 2]);
  for (const n of perWorker.values()) expect(n).toBeLessThan(CLIENTS);
  // SHOW POOLS on one worker's console session reports the machine: every client of both workers.
  expect(Number(pool?.cl_active) + Number(pool?.cl_waiting)).toBe(CLIENTS);
  expect(Number(pool?.sv_active) + Number(pool?.sv_idle) + Number(pool?.sv_tested) + Number(pool?.sv_login)).toBeLessThanOrEqual(POOL_SIZE);
  // The database sees at most the configured pool size from the whole machine.
  expect(serverConnections).toBeGreaterThan(0);
  expect(serverConnections).toBeLessThanOrEqual(POOL_SIZE);
  console.info(`clients per worker: ${JSON.stringify([...perWorker])}`);
});

it('reports the tenant once, with the machine pool size, in SHOW DATABASES and sums SHOW STATS', async () => {
  const dbs = (await adminRows(pooler!, admin, 'SHOW DATABASES')).filter((r) => r.name === tenant.id);
  expect(dbs).toHaveLength(1);
  expect(Number(dbs[0]!.pool_size)).toBe(POOL_SIZE);
  const stats = (await adminRows(pooler!, admin, 'SHOW STATS')).filter((r) => r.database === tenant.id);
  expect(stats).toHaveLength(1);
  expect(Number(stats[0]!.total_xact_count)).toBeGreaterThan(0);
  const config = new Map((await adminRows(pooler!, admin, 'SHOW CONFIG')).map((r) => [r.key, r.value]));
  expect(config.get('workers')).toBe('2');
  expect(config.get('metrics.port')).toBe(String(pooler!.metricsPort));
});
