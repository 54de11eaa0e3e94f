// PAUSE / RESUME through the admin console, as PgBouncer's: PAUSE waits for the transaction in
// flight to finish, then closes the tenant's server connections (PostgreSQL sees no backend of
// the destination role: the database could be restarted), while its clients stay connected; a
// transaction started during the pause queues (SHOW POOLS cl_waiting) and runs after RESUME.
// Another tenant is not affected.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { backgroundErrorsOf, connectPg, endQuietly, until, within, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { destinationBackendPids } from './helpers/backends.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let paused: TestTenant;
let other: TestTenant;
let admin: AdminLogin;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  // checkout_timeout far above the test's duration: the queued client must wait for RESUME, not time out.
  paused = await createTenant(pg, { id: 'pause-me', pool: { mode: 'transaction', size: 1, checkout_timeout: 120 } });
  other = await createTenant(pg, { id: 'pause-other', pool: { mode: 'transaction', size: 1 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([paused.config, other.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.close();
  await pg?.stop();
});

async function connect(conn: Parameters<typeof connectPg>[0]): Promise<PgClient> {
  const c = await connectPg(conn);
  clients.push(c);
  return c;
}

/** Backends of the tenant's destination role on PostgreSQL, seen directly (not through the pooler). */
async function backendsOf(t: TestTenant): Promise<number> {
  return (await destinationBackendPids(pg, t)).length;
}

async function poolRow(adm: PgClient, tenantId: string): Promise<Record<string, unknown> | undefined> {
  return (await adm.query<Record<string, unknown>>('SHOW POOLS')).rows.find((r) => r.database === tenantId);
}

it('waits for the open transaction, closes the server connections, queues new transactions until RESUME', async () => {
  const inTx = await connect(poolerConn(pooler!, paused));
  const later = await connect(poolerConn(pooler!, paused));
  const bystander = await connect(poolerConn(pooler!, other));
  const adm = await connectAdmin(pooler!, admin);
  const watcher = await connectAdmin(pooler!, admin);

  await inTx.query('BEGIN');
  await inTx.query('SELECT 1');
  expect(await backendsOf(paused)).toBe(1);

  let pauseDone = false;
  const pausing = adm.query('PAUSE pause-me').then((r) => {
    pauseDone = true;
    return r;
  });
  // The server connection is marked to close (close_needed) while its transaction is still open:
  // PAUSE has been taken in, and cannot have answered yet.
  await until(
    async () => (await watcher.query<{ database: string; close_needed: number }>('SHOW SERVERS')).rows.some((s) => s.database === 'pause-me' && s.close_needed === 1),
    HANG_MS,
    'the server connection to be marked close_needed',
  );
  expect(pauseDone).toBe(false);
  expect((await watcher.query<{ name: string; paused: number }>('SHOW DATABASES')).rows.find((d) => d.name === 'pause-me')?.paused).toBe(1);

  // The transaction in flight finishes normally; then PAUSE answers and no backend is left.
  expect((await inTx.query('COMMIT')).command).toBe('COMMIT');
  const pauseResult = await within(pausing, HANG_MS, 'PAUSE after the transaction ended');
  expect(pauseResult.command).toBe('PAUSE');
  expect(await backendsOf(paused)).toBe(0);

  // A new transaction queues; the other tenant works meanwhile.
  let laterDone = false;
  const queued = later.query<{ v: number }>('SELECT 42 AS v').then((r) => {
    laterDone = true;
    return r;
  });
  await until(async () => (await poolRow(watcher, 'pause-me'))?.cl_waiting === 1, HANG_MS, 'the client to queue during the pause');
  expect((await bystander.query<{ v: number }>('SELECT 7 AS v')).rows).toEqual([{ v: 7 }]);
  expect(laterDone).toBe(false);
  expect(await backendsOf(paused)).toBe(0);

  // RESUME: the queued transaction runs; both clients kept their connections throughout.
  expect((await adm.query('RESUME pause-me')).command).toBe('RESUME');
  expect((await within(queued, HANG_MS, 'the queued query after RESUME')).rows).toEqual([{ v: 42 }]);
  expect((await inTx.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
  expect(backgroundErrorsOf(inTx)).toEqual([]);
  expect(backgroundErrorsOf(later)).toEqual([]);
  expect((await poolRow(watcher, 'pause-me'))?.cl_waiting).toBe(0);
});

it('PAUSE without a database pauses every tenant; RESUME without one resumes them', async () => {
  const adm = await connectAdmin(pooler!, admin);
  await adm.query('PAUSE');
  const dbs = (await adm.query<{ name: string; paused: number }>('SHOW DATABASES')).rows;
  expect(dbs.map((d) => [d.name, d.paused]).sort()).toEqual([
    ['pause-me', 1],
    ['pause-other', 1],
  ]);
  await adm.query('RESUME');
  const after = (await adm.query<{ name: string; paused: number }>('SHOW DATABASES')).rows;
  expect(after.every((d) => d.paused === 0)).toBe(true);
  const c = await connect(poolerConn(pooler!, other));
  expect((await c.query<{ v: number }>('SELECT 3 AS v')).rows).toEqual([{ v: 3 }]);
});
