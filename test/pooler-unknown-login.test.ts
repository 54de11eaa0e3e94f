// A (database, user) pair that is no tenant is refused with a FATAL and a clear message. PgBouncer
// answers 28000 (invalid_authorization_specification) or 3D000 for unknown names; the pooler may
// instead run a mock authentication and answer like a wrong password (28P01), as PostgreSQL itself
// does, so that it does not reveal which tenants exist. Any of these, always FATAL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, pgErrorInfo, psql, rejectionOf } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'known-tenant' });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

const REFUSED_LOGIN = ['28000', '3D000', '28P01'];

describe('unknown logins', () => {
  const cases: Array<[string, () => { database?: string; user?: string }]> = [
    ['unknown user', () => ({ user: 'nobody_here' })],
    ['unknown database', () => ({ database: 'no_such_db' })],
    ['both unknown', () => ({ database: 'no_such_db', user: 'nobody_here' })],
    ['database and user swapped', () => ({ database: tenant.clientUser, user: tenant.clientDatabase })],
  ];

  it.each(cases)('%s → FATAL with a clear message (node-postgres)', async (_name, override) => {
    const err = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, tenant, override()))));
    console.info(`unknown login refused: ${err.code} ${err.severity} ${err.message}`);
    expect(err.severity).toBe('FATAL');
    expect(REFUSED_LOGIN).toContain(err.code);
    expect(err.message).toMatch(/password|authentication|user|database|tenant|authoriz|does not exist/i);
  });

  it('→ FATAL through psql', async () => {
    const r = await psql(poolerConn(pooler!, tenant, { user: 'nobody_here' }), 'SELECT 1;');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FATAL/);
  });

  it('does not disturb the known tenant', async () => {
    const c = await connectPg(poolerConn(pooler!, tenant));
    try {
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [5])).rows).toEqual([{ v: 5 }]);
    } finally {
      await c.end();
    }
  });
});
