// SHUTDOWN through the admin console: answered, then the same drain as SIGTERM — the listener
// stops accepting, an idle client is told FATAL 57P01, the console session itself is closed, and
// whenClosed() resolves (the process entry point exits on it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let admin: AdminLogin;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'shutdown-tenant' });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.close();
  await pg?.stop();
});

it('answers SHUTDOWN, drains, closes clients and the console, and resolves whenClosed', async () => {
  const client = await connectPg(poolerConn(pooler!, tenant));
  clients.push(client);
  expect((await client.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);

  expect((await adm.query('SHUTDOWN')).command).toBe('SHUTDOWN');
  await within(pooler!.whenClosed(), HANG_MS, 'the pooler to close after SHUTDOWN');

  await until(() => backgroundErrorsOf(client).length > 0 && backgroundErrorsOf(adm).length > 0, HANG_MS, 'client and console to be closed');
  expect(pgErrorInfo(backgroundErrorsOf(client)[0]).code).toBe('57P01');
  expect(pgErrorInfo(backgroundErrorsOf(adm)[0]).code).toBe('57P01');
  const refused = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, tenant))));
  expect(refused.message).toMatch(/ECONNREFUSED/);
});
