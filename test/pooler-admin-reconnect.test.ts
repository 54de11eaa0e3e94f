// RECONNECT db through the admin console: the tenant's server connections are replaced — an idle
// one closes at once, one inside a transaction only when that transaction ends — so the next
// transactions run on new PostgreSQL backends, while clients stay connected and unaffected.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { backgroundErrorsOf, connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { destinationBackendPids } from './helpers/backends.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let admin: AdminLogin;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'reconnect-me', pool: { mode: 'transaction', size: 2 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
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

function backendPids(): Promise<number[]> {
  return destinationBackendPids(pg, tenant);
}

async function pidOf(c: PgClient): Promise<number> {
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

it('replaces idle server connections now and busy ones when their transaction ends', async () => {
  const busy = await connect(poolerConn(pooler!, tenant));
  const other = await connect(poolerConn(pooler!, tenant));
  await busy.query('BEGIN');
  const busyPid = await pidOf(busy);
  const idlePid = await pidOf(other); // the second server connection, idle once this returns
  expect(idlePid).not.toBe(busyPid);

  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect((await adm.query('RECONNECT reconnect-me')).command).toBe('RECONNECT');

  // The idle backend goes away; the one inside the transaction stays and keeps serving it.
  await until(async () => !(await backendPids()).includes(idlePid), HANG_MS, 'the idle backend to be closed');
  expect(await pidOf(busy)).toBe(busyPid);
  const marked = (await adm.query<{ remote_pid: number; close_needed: number }>('SHOW SERVERS')).rows.find((s) => s.remote_pid === busyPid);
  expect(marked?.close_needed).toBe(1);
  await busy.query('COMMIT');
  await until(async () => !(await backendPids()).includes(busyPid), HANG_MS, 'the busy backend to be closed after COMMIT');

  // New transactions run on new backends; the clients never noticed.
  const fresh = [await pidOf(busy), await pidOf(other)];
  expect(fresh).not.toContain(busyPid);
  expect(fresh).not.toContain(idlePid);
  expect(backgroundErrorsOf(busy)).toEqual([]);
  expect(backgroundErrorsOf(other)).toEqual([]);
});

it('RECONNECT without a database applies to every tenant', async () => {
  const c = await connect(poolerConn(pooler!, tenant));
  const before = await pidOf(c);
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect((await adm.query('RECONNECT')).command).toBe('RECONNECT');
  await until(async () => !(await backendPids()).includes(before), HANG_MS, 'the backend to be closed');
  expect(await pidOf(c)).not.toBe(before);
});
