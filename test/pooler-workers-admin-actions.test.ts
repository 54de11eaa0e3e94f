// The console's actions with `--workers 2` act on every worker, whichever worker the console
// session is on: PAUSE closes the server connections of both workers (PostgreSQL sees no backend
// of the destination role) and queues both workers' clients until RESUME; RECONNECT replaces the
// server connections of both; KILL disconnects the tenant's clients on both; errors come back as
// on one process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeOf } from '../pooler/src/frontend/cancel-keys.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, type TestTenant } from './helpers/tenants.ts';
import { startWorkersPooler, workerOf, type WorkersPooler } from './helpers/workers.ts';

const HANG_MS = 20_000;
const MAX_CONNECTS = 40;

let pg: PostgresServer;
let tenant: TestTenant;
let admin: AdminLogin;
let dir: string;
let pooler: WorkersPooler | undefined;
let su: PgClient;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'wadmin', pool: { mode: 'transaction', size: 4, checkout_timeout: 120 } });
  admin = await createAdminLogin(pg);
  su = await connectPg(superuserConn(pg));
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-admin-'));
  pooler = await startWorkersPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), dir, 2);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await endQuietly(su);
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One client on each worker (index 0 on worker 1, index 1 on worker 2). */
async function clientPerWorker(): Promise<[PgClient, PgClient]> {
  const found = new Map<number, PgClient>();
  for (let i = 0; i < MAX_CONNECTS && found.size < 2; i++) {
    const c = await connectPg(poolerConn(pooler!, tenant));
    clients.push(c);
    const node = nodeOf((c as unknown as { processID: number }).processID);
    if (found.has(node)) await endQuietly(c);
    else found.set(node, c);
  }
  if (found.size < 2) throw new Error('no client on each worker');
  return [found.get(1)!, found.get(2)!];
}

async function backendPids(): Promise<number[]> {
  const r = await su.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE usename = $1 ORDER BY pid', [tenant.destination.user]);
  return r.rows.map((x) => x.pid);
}

it('PAUSE closes both workers\' server connections and queues both workers\' clients; RESUME lets them go on', async () => {
  const [one, two] = await clientPerWorker();
  await one.query('SELECT 1');
  await two.query('SELECT 1');
  expect((await backendPids()).length).toBeGreaterThanOrEqual(2);

  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect((await adm.query('PAUSE wadmin')).command).toBe('PAUSE');
  // PAUSE answered: the pooler closed every server connection of either worker (PostgreSQL's
  // backends take a moment to leave pg_stat_activity after the Terminate).
  await until(async () => (await backendPids()).length === 0, HANG_MS, 'the server connections to close after PAUSE');
  const q1 = one.query<{ v: number }>('SELECT 1 AS v');
  const q2 = two.query<{ v: number }>('SELECT 2 AS v');
  await until(
    async () => {
      const waiting = (await adminRows(pooler!, admin, 'SHOW CLIENTS')).filter((r) => r.database === tenant.id && r.state === 'waiting');
      return new Set(waiting.map((r) => workerOf(r.ptr))).size === 2;
    },
    HANG_MS,
    'a queued client on each worker',
  );
  const dbs = (await adminRows(pooler!, admin, 'SHOW DATABASES')).find((d) => d.name === tenant.id);
  expect(Number(dbs?.paused)).toBe(1);

  expect((await adm.query('RESUME wadmin')).command).toBe('RESUME');
  expect((await within(q1, HANG_MS, 'worker 1 query after RESUME')).rows).toEqual([{ v: 1 }]);
  expect((await within(q2, HANG_MS, 'worker 2 query after RESUME')).rows).toEqual([{ v: 2 }]);
  // Nothing is paused now, on any worker.
  expect(pgErrorInfo(await rejectionOf(adm.query('RESUME'))).code).toBe('55000');
});

it('RECONNECT replaces the server connections of both workers', async () => {
  const [one, two] = await clientPerWorker();
  await one.query('SELECT 1');
  await two.query('SELECT 1');
  const before = await backendPids();
  expect(before.length).toBeGreaterThanOrEqual(2);
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect((await adm.query('RECONNECT')).command).toBe('RECONNECT');
  await until(async () => (await backendPids()).every((pid) => !before.includes(pid)), HANG_MS, 'the old server connections to close');
  await one.query('SELECT 1');
  await two.query('SELECT 1');
  const after = await backendPids();
  expect(after.length).toBeGreaterThan(0);
  expect(after.some((pid) => before.includes(pid))).toBe(false);
});

it('KILL disconnects the tenant\'s clients on both workers; unknown databases are an error', async () => {
  const [one, two] = await clientPerWorker();
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect(pgErrorInfo(await rejectionOf(adm.query('KILL nosuchdb'))).code).toBe('3D000');
  expect((await adm.query('KILL wadmin')).command).toBe('KILL');
  for (const c of [one, two]) {
    const err = pgErrorInfo(await within(rejectionOf(c.query('SELECT 1')), HANG_MS, 'a killed client to fail'));
    expect(err.message).not.toBe('');
  }
  expect((await adminRows(pooler!, admin, 'SHOW CLIENTS')).filter((r) => r.database === tenant.id)).toEqual([]);
  expect((await adm.query('RESUME')).command).toBe('RESUME');
  const [again] = await clientPerWorker();
  expect((await again.query<{ v: number }>('SELECT 4 AS v')).rows).toEqual([{ v: 4 }]);
});
