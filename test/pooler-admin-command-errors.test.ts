// Anything the admin console does not understand gets a clear ERROR and the session goes on: a
// non-admin command such as SELECT (42601, naming the command, hinting SHOW HELP), two commands
// in one query, the extended query protocol (0A000), an unknown database (3D000), RESUME of a
// tenant that is not paused (55000). An empty query gets EmptyQueryResponse.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminConn, connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { endQuietly, psql, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let admin: AdminLogin;
let adm: PgClient | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'errs-tenant' });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
  adm = await connectAdmin(pooler, admin);
});

afterAll(async () => {
  await endQuietly(adm);
  await pooler?.close();
  await pg?.stop();
});

interface PgError {
  code?: string;
  message: string;
  hint?: string;
  severity?: string;
}

async function errorOf(sql: string, values?: unknown[]): Promise<PgError> {
  const e: unknown = await adm!.query(sql, values).then(
    () => new Error('expected an error'),
    (err: unknown) => err,
  );
  return e as PgError;
}

/** The session is still usable after each error. */
async function stillWorks(): Promise<void> {
  const r = await adm!.query<{ version: string }>('SHOW VERSION');
  expect(r.rows[0]?.version).toMatch(/^Switchyard/);
}

it.each([
  ['SELECT 1', '42601', /^unknown admin command: SELECT 1$/],
  ['SHOW TABLES', '42601', /^unknown admin command: SHOW TABLES$/],
  ['SHOW POOLS; SHOW VERSION', '42601', /one command per query/],
  ['PAUSE no-such-tenant', '3D000', /^no such database: no-such-tenant$/],
  [`RESUME ${'errs-tenant'}`, '55000', /^database errs-tenant is not paused$/],
  ['RESUME', '55000', /^no database is paused$/],
])('%s → ERROR %s, and the session goes on', async (sql, code, message) => {
  const err = await errorOf(sql);
  expect(err.severity).toBe('ERROR');
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  await stillWorks();
});

it('hints at SHOW HELP for an unknown command', async () => {
  const err = await errorOf('VACUUM');
  expect(err.hint).toBe('SHOW HELP lists the admin commands');
  await stillWorks();
});

it('answers the extended query protocol with 0A000 and keeps the session', async () => {
  // node-postgres sends a query with parameters as Parse/Bind/Describe/Execute/Sync.
  const err = await errorOf('SHOW POOLS', [1]);
  expect(err.code).toBe('0A000');
  expect(err.message).toBe('the admin console supports only the simple query protocol');
  await stillWorks();
});

it('accepts keywords in any case, a trailing semicolon, and a quoted database name', async () => {
  expect((await adm!.query('show  Version ;')).command).toBe('SHOW');
  expect((await adm!.query('reconnect "errs-tenant"')).command).toBe('RECONNECT');
  // The client-facing database name names the same tenant.
  expect((await adm!.query(`RECONNECT ${tenant.clientDatabase}`)).command).toBe('RECONNECT');
});

it('reports psql errors clearly (psql prints the message, exits 3 with ON_ERROR_STOP)', async () => {
  const r = await psql(adminConn(pooler!, admin), 'SELECT 1;\n');
  expect(r.code).toBe(3);
  expect(r.stderr).toContain('unknown admin command: SELECT 1');
  expect(r.stderr).toContain('SHOW HELP lists the admin commands');
});

it('answers an empty query with EmptyQueryResponse', async () => {
  const r = await adm!.query(';');
  expect(r.rows).toEqual([]);
  await stillWorks();
});
