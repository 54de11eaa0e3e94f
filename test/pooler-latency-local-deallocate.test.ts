// A DEALLOCATE of a client's named prepared statement is answered by the pooler itself (its
// ReadyForQuery never comes from the server: frontend/prepared-session.ts). It still ends the
// query it started (stats/latency.ts): otherwise its start stamp stays, the client's next query
// is not stamped, and the two count as one query whose time runs from the DEALLOCATE (the client's
// idle time included) and goes to the DEALLOCATE's shape, the real statement's shape missing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let admin: AdminLogin;
let session: TestTenant;
let txn: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  session = await createTenant(pg, { id: 'dealloc-session', pool: { mode: 'session', size: 1 } });
  txn = await createTenant(pg, { id: 'dealloc-txn', pool: { mode: 'transaction', size: 1 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([session.config, txn.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it.each([
  ['session', () => session, false],
  ['transaction (inside a transaction)', () => txn, true],
] as const)('%s mode: a locally answered DEALLOCATE is one query, and the next query is its own', async (_mode, tenant, inTransaction) => {
  const t = tenant();
  const c = await connectPg(poolerConn(pooler!, t));
  try {
    if (inTransaction) await c.query('BEGIN');
    await c.query({ name: 'named_one', text: 'SELECT 1 AS named_col' });
    await c.query('DEALLOCATE named_one');
    await c.query('SELECT 2 AS after_deallocate');
    if (inTransaction) await c.query('COMMIT');
  } finally {
    await endQuietly(c);
  }
  const queries = 3 + (inTransaction ? 2 : 0);
  expect(pooler!.tenantLatency().get(t.id)!.query.count).toBe(queries);
  const rows = (await adminRows(pooler!, admin, 'SHOW STATEMENTS')).filter((r) => r.database === t.id);
  const calls = Object.fromEntries(rows.map((r) => [r.query, Number(r.calls)]));
  expect(calls['SELECT ? AS after_deallocate']).toBe(1);
  expect(calls['DEALLOCATE named_one']).toBe(1);
}, 120_000);
