// The set-up of the session-fidelity tests (issue 14): one PostgreSQL, one transaction-mode tenant
// whose pool is smaller than the clients the tests open, an in-process pooler; started in
// beforeAll, stopped in afterAll of the calling file. `prepare` runs on PostgreSQL (as the
// superuser, in the tenant's database) before the pooler starts.
import { afterAll, beforeAll } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { createAdminLogin, type AdminLogin } from './admin.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type ConnSettings, type PoolSettingsInput, type TestTenant } from './tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

export interface SessionRig {
  readonly tenant: TestTenant;
  readonly pg: PostgresServer;
  readonly pooler: Pooler;
  /** A console login (SHOW CLIENTS); metrics are served on pooler.metricsPort. */
  readonly admin: AdminLogin;
  /** How a client reaches the tenant through the pooler. */
  conn(override?: Partial<ConnSettings>): ConnSettings;
}

export function sessionRig(id: string, opts: { pool?: PoolSettingsInput; schema?: string; prepare?: (pg: PostgresServer, t: TestTenant) => Promise<void> } = {}): SessionRig {
  let pg: PostgresServer | undefined;
  let pooler: Pooler | undefined;
  let tenant: TestTenant | undefined;
  let admin: AdminLogin | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
    tenant = await createTenant(pg, { id, ...(opts.schema ? { schema: opts.schema } : {}), pool: { mode: 'transaction', size: 2, ...opts.pool } });
    await opts.prepare?.(pg, tenant);
    admin = await createAdminLogin(pg);
    pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] }, metrics: { host: '127.0.0.1', port: 0 } }), { logger: testLogger() });
  });
  afterAll(async () => {
    await pooler?.close();
    await pg?.stop();
  });
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} has not started (beforeAll failed?)`);
    return v;
  };
  return {
    get tenant() {
      return need(tenant, 'the tenant');
    },
    get pg() {
      return need(pg, 'PostgreSQL');
    },
    get pooler() {
      return need(pooler, 'the pooler');
    },
    get admin() {
      return need(admin, 'the admin login');
    },
    conn: (override = {}) => poolerConn(need(pooler, 'the pooler'), need(tenant, 'the tenant'), override),
  };
}

/** Creates schemas `names` in the tenant's database, each with a table marker(v) holding its own name, owned by the tenant's role. */
export async function createMarkedSchemas(pg: PostgresServer, t: TestTenant, names: string[]): Promise<void> {
  const owner = t.destination.user;
  const sql = names.map((n) => `CREATE SCHEMA "${n}" AUTHORIZATION ${owner}; CREATE TABLE "${n}".marker (v text); INSERT INTO "${n}".marker VALUES ('${n}'); ALTER TABLE "${n}".marker OWNER TO ${owner};`).join('');
  await pg.psql(sql, t.destination.database);
}
