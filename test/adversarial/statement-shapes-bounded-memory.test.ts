// A hostile tenant sends thousands of distinct statement texts, and texts far longer than the
// shape cap, through a real pooler: SHOW STATEMENTS keeps at most MAX_SHAPES shapes of at most
// RAW_MAX characters for it, its cache of raw texts stays within RAW_CACHE, and another tenant's
// shapes are still there (stats/statement-shapes.ts; docs/security.md). The million-text memory
// bound itself is the unit test beside the code (pooler/src/stats/statement-shapes.test.ts).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { MAX_SHAPES, RAW_CACHE, RAW_MAX } from '../../pooler/src/stats/statement-shapes.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from '../helpers/admin.ts';
import { connectPg, endQuietly, type PgClient } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const DISTINCT = 3000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let admin: AdminLogin;
let hostile: TestTenant;
let quiet: TestTenant;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  hostile = await createTenant(pg, { id: 'shapes-hostile', pool: { mode: 'transaction', size: 2 } });
  quiet = await createTenant(pg, { id: 'shapes-quiet', pool: { mode: 'transaction', size: 1 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([hostile.config, quiet.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.close();
  await pg?.stop();
});

it('keeps a bounded number of bounded shapes per tenant, whatever it sends', async () => {
  const q = await connectPg(poolerConn(pooler!, quiet));
  clients.push(q);
  await q.query('SELECT pg_sleep(0.05) AS the_quiet_one');

  const h = await connectPg(poolerConn(pooler!, hostile));
  clients.push(h);
  for (let i = 0; i < DISTINCT; i++) await h.query(`SELECT ${i} AS c${i}`);
  const long = `SELECT 1 AS ${'x'.repeat(60)}, ${Array.from({ length: 1500 }, (_, i) => `${i} AS long${i}`).join(', ')}`;
  for (let i = 0; i < 3; i++) await h.query(long);

  const rows = await adminRows(pooler!, admin, 'SHOW STATEMENTS');
  const mine = rows.filter((r) => r.database === hostile.id);
  expect(mine.length).toBeGreaterThan(0);
  // Its shapes, plus the one its queries beyond the normalization rate share.
  expect(mine.length).toBeLessThanOrEqual(MAX_SHAPES + 1);
  for (const r of mine) expect(String(r.query).length).toBeLessThanOrEqual(RAW_MAX);
  expect(pooler!.tenantLatency().get(hostile.id)!.shapes.cachedTexts).toBeLessThanOrEqual(RAW_CACHE);
  // The other tenant's shape is untouched by the flood.
  expect(rows.filter((r) => r.database === quiet.id).map((r) => r.query)).toEqual(['SELECT pg_sleep(?) AS the_quiet_one']);
});
