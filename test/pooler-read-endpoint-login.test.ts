// Logging in to a read endpoint (docs/read-endpoints.md): the database name
// `<database>_ro` with the tenant's own user and password, md5 as well as SCRAM (the reason the
// endpoint is a database name: an md5 verifier is salted with the user name). A tenant without a
// read endpoint has no such login (28P01, as any unknown login). The reader pools appear in SHOW
// POOLS and SHOW SERVERS as `<tenant>@<host>:<port>`, and admin PAUSE / RESUME of the tenant
// act on them too (the pause closes their connections, read transactions queue until RESUME).
// The one server here plays the reader too,
// under another address (localhost): it is not in recovery, so its measured lag is 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let admin: AdminLogin;
let scram: TestTenant;
let md5: TestTenant;
let plain: TestTenant;
const clients: PgClient[] = [];

/** The tenants' configuration, the read endpoints reading from the server under these host names. */
function configs(hosts: string[]) {
  const readEndpoint = { read_endpoint: { readers: hosts.map((host) => ({ host, port: pg.port })), max_replica_lag_ms: 1000 } };
  return [{ ...scram.config, ...readEndpoint }, { ...md5.config, ...readEndpoint }, plain.config];
}

beforeAll(async () => {
  pg = await startPostgres();
  scram = await createTenant(pg, { id: 'reads-scram' });
  md5 = await createTenant(pg, { id: 'reads-md5', clientAuth: 'md5' });
  plain = await createTenant(pg, { id: 'no-reads' });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig(configs(['localhost']), { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  for (const c of clients) await endQuietly(c);
  await pooler?.close();
  await pg?.stop();
});

const readConn = (t: TestTenant) => poolerConn(pooler!, t, { database: `${t.clientDatabase}_ro` });

describe('read endpoint login', () => {
  it.each([
    ['SCRAM', () => scram],
    ['md5', () => md5],
  ])('logs in with %s to <database>_ro with the tenant’s user and password', async (_kind, tenant) => {
    const t = tenant();
    const c = await connectPg(readConn(t));
    clients.push(c);
    expect((await c.query<{ u: string }>('SELECT current_user AS u')).rows).toEqual([{ u: t.destination.user }]);
    const wrong = pgErrorInfo(await rejectionOf(connectPg({ ...readConn(t), password: 'not-the-password' })));
    expect(wrong.code).toBe('28P01');
  });

  it('does not exist for a tenant without a read endpoint (28P01, as an unknown login)', async () => {
    const err = pgErrorInfo(await rejectionOf(connectPg(readConn(plain))));
    expect(err.code).toBe('28P01');
  });

  it('shows the reader pool in SHOW POOLS and its connections in SHOW SERVERS', async () => {
    const name = `${scram.id}@localhost:${pg.port}`;
    const c = await connectPg(readConn(scram));
    clients.push(c);
    // The first lag figure comes within a poll; until then transactions go to the writer.
    await until(async () => {
      await c.query('SELECT 1');
      return (await adminRows(pooler!, admin, 'SHOW SERVERS')).some((r) => r.database === name);
    }, 30_000, 'a server connection of the reader pool');
    const pools = await adminRows(pooler!, admin, 'SHOW POOLS');
    const row = pools.find((r) => r.database === name);
    expect(row, JSON.stringify(pools)).toBeDefined();
    expect(Number(row!.sv_idle) + Number(row!.sv_active) + Number(row!.sv_tested), JSON.stringify(row)).toBeGreaterThanOrEqual(1);
    expect(row!.user).toBe(scram.destination.user);
    expect(pools.some((r) => r.database === scram.id)).toBe(true);
  });

  it('PAUSE of the tenant closes its reader pools’ connections and queues read transactions until RESUME, also on a reader added meanwhile', async () => {
    const name = `${md5.id}@localhost:${pg.port}`;
    const c = await connectPg(readConn(md5));
    clients.push(c);
    await until(async () => {
      await c.query('SELECT 1');
      return (await adminRows(pooler!, admin, 'SHOW SERVERS')).some((r) => r.database === name);
    }, 30_000, 'a server connection of the reader pool');
    await adminRows(pooler!, admin, `PAUSE ${md5.id}`);
    expect((await adminRows(pooler!, admin, 'SHOW SERVERS')).filter((r) => r.database === name || r.database === md5.id)).toEqual([]);
    let done = false;
    const queued = c.query<{ v: number }>('SELECT 7 AS v').then((r) => {
      done = true;
      return r;
    });
    await until(async () => (await adminRows(pooler!, admin, 'SHOW POOLS')).some((r) => (r.database === md5.id || r.database === name) && Number(r.cl_waiting) === 1), 10_000, 'the read transaction queued');
    expect(done).toBe(false);
    // A reader added by a reload during the pause starts paused: a new read transaction queues too,
    // once the new reader is measured (and would qualify).
    pooler!.reload(poolerConfig(configs(['localhost', '127.0.0.1']), { admin: { users: [admin.config] } }));
    await until(() => pooler!.readerLag.get(`127.0.0.1:${pg.port}`)?.lagMs === 0, 10_000, 'the added reader measured');
    const c2 = await connectPg(readConn(md5));
    clients.push(c2);
    let done2 = false;
    const queued2 = c2.query<{ v: number }>('SELECT 8 AS v').then((r) => {
      done2 = true;
      return r;
    });
    await until(async () => (await adminRows(pooler!, admin, 'SHOW POOLS')).some((r) => r.database === `${md5.id}@127.0.0.1:${pg.port}`), 10_000, 'the added reader pool');
    await until(async () => {
      const rows = await adminRows(pooler!, admin, 'SHOW POOLS');
      return rows.filter((r) => r.database === md5.id || String(r.database).startsWith(`${md5.id}@`)).reduce((n, r) => n + Number(r.cl_waiting), 0) === 2;
    }, 10_000, 'both read transactions queued');
    expect([done, done2]).toEqual([false, false]);
    await adminRows(pooler!, admin, `RESUME ${md5.id}`);
    expect((await queued).rows).toEqual([{ v: 7 }]);
    expect((await queued2).rows).toEqual([{ v: 8 }]);
  });
});
