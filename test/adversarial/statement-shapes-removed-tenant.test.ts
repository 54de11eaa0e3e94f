// A tenant removed from the configuration gives back its statement shapes (stats/statement-shapes.ts):
// its texts are not kept in memory for ever holding the process-wide bound (10,000 shapes) that
// other tenants need, and a tenant added later under the same id (another customer, or the same
// one re-created) does not see the removed one's statement texts in SHOW STATEMENTS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from '../helpers/admin.ts';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let admin: AdminLogin;
let removed: TestTenant;
let stays: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  removed = await createTenant(pg, { id: 'shapes-removed', pool: { mode: 'transaction', size: 1 } });
  stays = await createTenant(pg, { id: 'shapes-stays', pool: { mode: 'transaction', size: 1 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(poolerConfig([removed.config, stays.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it("drops a removed tenant's shapes: memory and the process-wide bound come back, a re-added id starts empty", async () => {
  const c = await connectPg(poolerConn(pooler!, removed));
  await c.query('SELECT 1 AS old_customer_column');
  await endQuietly(c);
  const before = await adminRows(pooler!, admin, 'SHOW STATEMENTS');
  expect(before.filter((r) => r.database === removed.id).map((r) => r.query)).toContain('SELECT ? AS old_customer_column');

  pooler!.reload(poolerConfig([stays.config], { admin: { users: [admin.config] } }));
  await until(() => pooler!.clientList().every((x) => x.route?.id !== removed.id), 30_000, 'the removed tenant clients gone');
  expect(pooler!.tenantLatency().get(removed.id)?.shapes.size ?? 0).toBe(0);

  pooler!.reload(poolerConfig([removed.config, stays.config], { admin: { users: [admin.config] } }));
  const after = await adminRows(pooler!, admin, 'SHOW STATEMENTS');
  expect(after.filter((r) => r.database === removed.id)).toEqual([]);
}, 120_000);
