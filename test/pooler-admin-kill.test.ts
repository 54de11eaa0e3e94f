// KILL db through the admin console: every client of the tenant is disconnected at once with
// FATAL 57P01 — also one inside a transaction, whose work PostgreSQL rolls back — and its server
// connections are closed (no backend of the destination role is left); another tenant is not
// touched. As in PgBouncer, the tenant stays paused: a new client can log in, but its query
// waits until RESUME.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, until, within, type PgClient } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { destinationBackendPids } from './helpers/backends.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let victim: TestTenant;
let other: TestTenant;
let admin: AdminLogin;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  victim = await createTenant(pg, { id: 'kill-me', pool: { mode: 'transaction', size: 2, checkout_timeout: 120 } });
  other = await createTenant(pg, { id: 'kill-other', pool: { mode: 'transaction', size: 2 } });
  const setup = await connectPg(destinationConn(victim));
  await setup.query('CREATE TABLE killed_work (v int)');
  await setup.end();
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([victim.config, other.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
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

async function backendsOf(t: TestTenant): Promise<number> {
  return (await destinationBackendPids(pg, t)).length;
}

it('disconnects the tenant’s clients and servers, spares the other tenant, and leaves the tenant paused', async () => {
  const inTx = await connect(poolerConn(pooler!, victim));
  const idle = await connect(poolerConn(pooler!, victim));
  const bystander = await connect(poolerConn(pooler!, other));
  await inTx.query('BEGIN');
  await inTx.query('INSERT INTO killed_work VALUES (1)');
  expect((await idle.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
  expect(await backendsOf(victim)).toBeGreaterThan(0);

  const adm = await connectAdmin(pooler!, admin);
  expect((await adm.query('KILL kill-me')).command).toBe('KILL');

  // Both clients are told FATAL 57P01 (admin shutdown) and lose their connections.
  await until(() => backgroundErrorsOf(inTx).length > 0 && backgroundErrorsOf(idle).length > 0, HANG_MS, 'both clients to be disconnected');
  for (const c of [inTx, idle]) {
    const first = pgErrorInfo(backgroundErrorsOf(c)[0]);
    expect(first.code).toBe('57P01');
    expect(first.severity).toBe('FATAL');
  }
  // The open transaction was cut, not committed; no backend of the tenant is left.
  await until(async () => (await backendsOf(victim)) === 0, HANG_MS, 'the tenant’s backends to exit');
  const direct = await connect(destinationConn(victim));
  expect((await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM killed_work')).rows).toEqual([{ n: 0 }]);
  const servers = (await adm.query<{ database: string }>('SHOW SERVERS')).rows;
  expect(servers.filter((s) => s.database === 'kill-me')).toEqual([]);

  // The other tenant was not touched.
  expect((await bystander.query<{ v: number }>('SELECT 2 AS v')).rows).toEqual([{ v: 2 }]);
  expect(backgroundErrorsOf(bystander)).toEqual([]);

  // Paused until RESUME: a new client logs in, its query queues, RESUME lets it run.
  expect((await adm.query<{ name: string; paused: number }>('SHOW DATABASES')).rows.find((d) => d.name === 'kill-me')?.paused).toBe(1);
  const fresh = await connect(poolerConn(pooler!, victim));
  let freshDone = false;
  const queued = fresh.query<{ v: number }>('SELECT 3 AS v').then((r) => {
    freshDone = true;
    return r;
  });
  await until(
    async () => (await adm.query<{ database: string; cl_waiting: number }>('SHOW POOLS')).rows.find((p) => p.database === 'kill-me')?.cl_waiting === 1,
    HANG_MS,
    'the new client to queue',
  );
  expect(freshDone).toBe(false);
  expect((await adm.query('RESUME kill-me')).command).toBe('RESUME');
  expect((await within(queued, HANG_MS, 'the queued query after RESUME')).rows).toEqual([{ v: 3 }]);
});

it('refuses KILL without a database', async () => {
  const adm = await connectAdmin(pooler!, admin);
  const err = pgErrorInfo(await adm.query('KILL').then(() => undefined, (e: unknown) => e));
  expect(err.code).toBe('42601');
  expect(err.message).toMatch(/KILL needs a database/);
});
