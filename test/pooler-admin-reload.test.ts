// RELOAD through the admin console runs the pooler's reload path (the configuration source's
// handler, as SIGHUP does): a tenant added to the configuration appears in SHOW DATABASES and
// accepts logins. A source that fails leaves the running configuration and answers F0000, as
// does a pooler without a configuration source.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgErrorInfo, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let first: TestTenant;
let added: TestTenant;
let admin: AdminLogin;
let adm: PgClient | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  first = await createTenant(pg, { id: 'reload-first' });
  added = await createTenant(pg, { id: 'reload-added' });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([first.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
  adm = await connectAdmin(pooler, admin);
});

afterAll(async () => {
  await endQuietly(adm);
  await pooler?.close();
  await pg?.stop();
});

async function tenantNames(): Promise<string[]> {
  return (await adm!.query<{ name: string }>('SHOW DATABASES')).rows.map((r) => r.name).sort();
}

async function reloadError(): Promise<{ code: string | undefined; message: string }> {
  return pgErrorInfo(await adm!.query('RELOAD').then(() => new Error('expected RELOAD to fail'), (e: unknown) => e));
}

it('refuses RELOAD when the pooler has no configuration source', async () => {
  pooler!.reloadHandler = undefined;
  const err = await reloadError();
  expect(err.code).toBe('F0000');
  expect(err.message).toMatch(/no configuration source/);
});

it('keeps the running configuration when the source fails', async () => {
  pooler!.reloadHandler = () => Promise.reject(new Error('tenants.0.id: must be a slug'));
  const err = await reloadError();
  expect(err.code).toBe('F0000');
  expect(err.message).toBe('reload failed, the running configuration stays: tenants.0.id: must be a slug');
  expect(await tenantNames()).toEqual(['reload-first']);
});

it('applies a new configuration through the reload handler', async () => {
  const reasons: string[] = [];
  pooler!.reloadHandler = async (reason) => {
    reasons.push(reason);
    pooler!.reload(poolerConfig([first.config, added.config], { admin: { users: [admin.config] } }));
  };
  expect((await adm!.query('RELOAD')).command).toBe('RELOAD');
  expect(reasons).toEqual(['admin']);
  expect(await tenantNames()).toEqual(['reload-added', 'reload-first']);
  const c = await connectPg(poolerConn(pooler!, added));
  expect((await c.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
  await c.end();
});
