// Who can open the admin console: only the configured admin users (SCRAM or md5 verifiers, both
// admin database names). A wrong admin password, an unknown user, and a tenant's own valid
// credentials all fail exactly like a wrong password (28P01); admin credentials do not open a
// tenant database either.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminConn, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, pgErrorInfo, psql, rejectionOf } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let scramAdmin: AdminLogin;
let md5Admin: AdminLogin;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'auth-tenant', clientAuth: 'scram', extraVerifiers: ['md5'] });
  scramAdmin = await createAdminLogin(pg, 'ops_scram', 'scram');
  md5Admin = await createAdminLogin(pg, 'ops_md5', 'md5');
  pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [scramAdmin.config, md5Admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

async function loginError(conn: Parameters<typeof connectPg>[0]): Promise<{ code: string | undefined; message: string }> {
  return pgErrorInfo(await rejectionOf(connectPg(conn)));
}

it.each([
  ['SCRAM', 'switchyard'],
  ['md5', 'pgbouncer'],
] as const)('lets a %s admin user in through database %s', async (kind, database) => {
  const a = kind === 'SCRAM' ? scramAdmin : md5Admin;
  const r = await psql(adminConn(pooler!, a, database), 'SHOW VERSION;\n');
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toMatch(/^Switchyard \d+\.\d+\.\d+/);
});

it('refuses a wrong admin password with 28P01', async () => {
  const err = await loginError({ ...adminConn(pooler!, scramAdmin), password: 'not-the-password' });
  expect(err.code).toBe('28P01');
  expect(err.message).toBe(`password authentication failed for user "${scramAdmin.user}"`);
  const md5 = await loginError({ ...adminConn(pooler!, md5Admin, 'pgbouncer'), password: 'not-the-password' });
  expect(md5.code).toBe('28P01');
});

it('refuses an unknown user on the admin database with 28P01', async () => {
  const err = await loginError({ ...adminConn(pooler!, scramAdmin), user: 'nobody_here' });
  expect(err.code).toBe('28P01');
});

it.each(['switchyard', 'pgbouncer'])('refuses a tenant user with its valid password on database %s', async (database) => {
  const err = await loginError(poolerConn(pooler!, tenant, { database }));
  expect(err.code).toBe('28P01');
  // The same credentials do open the tenant's own database.
  const ok = await connectPg(poolerConn(pooler!, tenant));
  await ok.end();
});

it("refuses admin credentials on a tenant's database", async () => {
  const err = await loginError({ ...adminConn(pooler!, scramAdmin), database: tenant.clientDatabase });
  expect(err.code).toBe('28P01');
});
