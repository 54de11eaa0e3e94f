// The admin console's SHOW output through psql has PgBouncer 1.18's column names in PgBouncer's
// order (lists below copied from PgBouncer 1.18's own RowDescription), so exporters and dashboards
// built for PgBouncer read Switchyard unchanged; the types in RowDescription are PgBouncer's too
// (text 25, int4 23, numeric 1700), checked through node-postgres. The rows describe real state:
// a tenant with a client inside a transaction shows one active client and one active server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminConn, connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, psql, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

// PgBouncer 1.18.0 (Debian bookworm), column names and type oids of its RowDescription.
const TEXT = 25;
const INT4 = 23;
const NUMERIC = 1700;
const PGBOUNCER: Record<string, [string, number][]> = {
  POOLS: [
    ['database', TEXT], ['user', TEXT], ['cl_active', INT4], ['cl_waiting', INT4], ['cl_active_cancel_req', INT4],
    ['cl_waiting_cancel_req', INT4], ['sv_active', INT4], ['sv_active_cancel', INT4], ['sv_being_canceled', INT4],
    ['sv_idle', INT4], ['sv_used', INT4], ['sv_tested', INT4], ['sv_login', INT4], ['maxwait', INT4], ['maxwait_us', INT4],
    ['pool_mode', TEXT],
  ],
  STATS: [
    ['database', TEXT], ['total_xact_count', NUMERIC], ['total_query_count', NUMERIC], ['total_received', NUMERIC],
    ['total_sent', NUMERIC], ['total_xact_time', NUMERIC], ['total_query_time', NUMERIC], ['total_wait_time', NUMERIC],
    ['avg_xact_count', NUMERIC], ['avg_query_count', NUMERIC], ['avg_recv', NUMERIC], ['avg_sent', NUMERIC],
    ['avg_xact_time', NUMERIC], ['avg_query_time', NUMERIC], ['avg_wait_time', NUMERIC],
  ],
  STATS_TOTALS: [
    ['database', TEXT], ['xact_count', NUMERIC], ['query_count', NUMERIC], ['bytes_received', NUMERIC],
    ['bytes_sent', NUMERIC], ['xact_time', NUMERIC], ['query_time', NUMERIC], ['wait_time', NUMERIC],
  ],
  CLIENTS: [
    ['type', TEXT], ['user', TEXT], ['database', TEXT], ['state', TEXT], ['addr', TEXT], ['port', INT4],
    ['local_addr', TEXT], ['local_port', INT4], ['connect_time', TEXT], ['request_time', TEXT], ['wait', INT4],
    ['wait_us', INT4], ['close_needed', INT4], ['ptr', TEXT], ['link', TEXT], ['remote_pid', INT4], ['tls', TEXT],
    ['application_name', TEXT], ['pinned', TEXT],
  ],
  DATABASES: [
    ['name', TEXT], ['host', TEXT], ['port', INT4], ['database', TEXT], ['force_user', TEXT], ['pool_size', INT4],
    ['min_pool_size', INT4], ['reserve_pool', INT4], ['pool_mode', TEXT], ['max_connections', INT4],
    ['current_connections', INT4], ['paused', INT4], ['disabled', INT4],
  ],
  CONFIG: [['key', TEXT], ['value', TEXT], ['default', TEXT], ['changeable', TEXT]],
  VERSION: [['version', TEXT]],
  LISTS: [['list', TEXT], ['items', INT4]],
};
// SHOW CLIENTS adds `pinned` after PgBouncer's columns (docs/admin.md).
PGBOUNCER.SERVERS = PGBOUNCER.CLIENTS!.slice(0, -1);
PGBOUNCER.STATS_AVERAGES = PGBOUNCER.STATS_TOTALS!;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let admin: AdminLogin;
let holder: PgClient | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'show-cols', pool: { mode: 'transaction', size: 2 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
  // One client inside a transaction: it holds a server connection while the tests look.
  holder = await connectPg(poolerConn(pooler, tenant));
  await holder.query('BEGIN');
  await holder.query('SELECT 1');
});

afterAll(async () => {
  await endQuietly(holder);
  await pooler?.close();
  await pg?.stop();
});

/** psql's header line for `command` (unaligned, so the columns are separated by '|'). */
async function psqlHeader(command: string, database = 'switchyard'): Promise<{ header: string[]; rows: string[][] }> {
  const r = await psql(adminConn(pooler!, admin, database), `\\pset tuples_only off\n\\pset footer off\n${command};\n`);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  return { header: (header ?? '').split('|'), rows: rows.map((l) => l.split('|')) };
}

describe.each(Object.keys(PGBOUNCER))('SHOW %s', (what) => {
  const expected = PGBOUNCER[what]!;

  it("has PgBouncer's column names in PgBouncer's order (psql)", async () => {
    const { header } = await psqlHeader(`SHOW ${what}`);
    expect(header).toEqual(expected.map(([name]) => name));
  });

  it("has PgBouncer's column types (node-postgres RowDescription)", async () => {
    const c = await connectAdmin(pooler!, admin, 'pgbouncer');
    try {
      const r = await c.query(`show ${what.toLowerCase()};`);
      expect(r.command).toBe('SHOW');
      expect(r.fields.map((f) => [f.name, f.dataTypeID])).toEqual(expected);
    } finally {
      await endQuietly(c);
    }
  });
});

describe('SHOW rows', () => {
  it('SHOW POOLS: the tenant with one active client and one active server connection', async () => {
    const { header, rows } = await psqlHeader('SHOW POOLS');
    const row = Object.fromEntries(header.map((h, i) => [h, rows.find((r) => r[0] === tenant.id)?.[i]]));
    expect(row).toMatchObject({ database: tenant.id, user: tenant.clientUser, cl_active: '1', cl_waiting: '0', sv_active: '1', pool_mode: 'transaction' });
  });

  it('SHOW CLIENTS and SHOW SERVERS: the client is linked to its server connection, whose remote_pid is the backend', async () => {
    const c = await connectAdmin(pooler!, admin);
    try {
      const clients = (await c.query<Record<string, string | number>>('SHOW CLIENTS')).rows;
      const servers = (await c.query<Record<string, string | number>>('SHOW SERVERS')).rows;
      const mine = clients.find((r) => r.database === tenant.id);
      expect(mine).toMatchObject({ type: 'C', user: tenant.clientUser, database: tenant.id, state: 'active', addr: '127.0.0.1' });
      const server = servers.find((s) => s.ptr === mine!.link);
      expect(server).toMatchObject({ type: 'S', database: tenant.id, user: tenant.destination.user, state: 'active', link: mine!.ptr, port: pg.port });
      const pid = (await holder!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(server!.remote_pid).toBe(pid);
      // The console session lists itself too, as PgBouncer's does.
      expect(clients.some((r) => r.database === 'switchyard' && r.user === admin.user)).toBe(true);
    } finally {
      await endQuietly(c);
    }
  });

  it('SHOW DATABASES: the tenant and its destination; SHOW VERSION names Switchyard', async () => {
    const c = await connectAdmin(pooler!, admin);
    try {
      const dbs = (await c.query<Record<string, string | number | null>>('SHOW DATABASES')).rows;
      expect(dbs).toEqual([
        expect.objectContaining({ name: tenant.id, host: pg.host, port: pg.port, database: tenant.destination.database, force_user: tenant.destination.user, pool_size: 2, paused: 0, disabled: 0 }),
      ]);
      const v = (await c.query<{ version: string }>('SHOW VERSION')).rows;
      expect(v).toEqual([{ version: expect.stringMatching(/^Switchyard \d+\.\d+\.\d+/) }]);
    } finally {
      await endQuietly(c);
    }
  });

  it('SHOW CONFIG: settings with defaults, admin user names but never a verifier', async () => {
    const c = await connectAdmin(pooler!, admin);
    try {
      const cfg = (await c.query<{ key: string; value: string | null; default: string | null; changeable: string }>('SHOW CONFIG')).rows;
      const byKey = new Map(cfg.map((r) => [r.key, r]));
      expect(byKey.get('listen.port')).toMatchObject({ value: '0', default: '6432', changeable: 'no' });
      expect(byKey.get('admin.users')).toMatchObject({ value: admin.user });
      expect(byKey.get('tenants')).toMatchObject({ value: '1' });
      // No configuration source: no published version applied (the metric says 0 too).
      expect(byKey.get('applied_config_version')).toMatchObject({ value: '0', default: '0', changeable: 'yes' });
      expect(JSON.stringify(cfg)).not.toContain(admin.config.verifier);
      expect(JSON.stringify(cfg)).not.toContain(tenant.destination.password);
    } finally {
      await endQuietly(c);
    }
  });
});
