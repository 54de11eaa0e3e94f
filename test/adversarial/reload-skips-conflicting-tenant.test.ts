// One bad tenant row must not break reload for every tenant (issue 10, item 8). Two tenants whose
// client names hold NUL, ("a\0b", "c") and ("a", "b\0c"), used to claim the same login and make
// every reload fail, so a tenant added in the same change was never served. Now each reload skips
// (and reports: log, metric, SHOW CONFIG) the invalid or conflicting tenants and applies the rest,
// and a new row cannot take over a login another tenant already serves. Real PostgreSQL, real
// clients, the reload path the config sources use (Pooler.reload).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from '../helpers/admin.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from '../helpers/clients.ts';
import { scrape, valueOf } from '../helpers/metrics.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TenantConfigInput, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer | undefined;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let served: TestTenant;
let added: TestTenant;
let admin: AdminLogin;

beforeAll(async () => {
  pg = await startPostgres();
  served = await createTenant(pg, { id: 'skip-served', pool: { size: 1 } });
  added = await createTenant(pg, { id: 'skip-added', pool: { size: 1 } });
  admin = await createAdminLogin(pg);
  pooler = await startPooler(config([served.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

function config(tenants: TenantConfigInput[]): ReturnType<typeof poolerConfig> {
  return poolerConfig(tenants, { admin: { users: [admin.config] }, metrics: { host: '127.0.0.1', port: 0 } });
}

/** A tenant with `served`'s verifiers and destination under other client names. */
function lookalike(id: string, database: string, user: string): TenantConfigInput {
  return { ...served.config, id, database, user };
}

async function serves(t: TestTenant, password = t.clientPassword): Promise<string> {
  const c = await connectPg(poolerConn(pooler!, t, { password }));
  try {
    return (await c.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  } finally {
    await endQuietly(c);
  }
}

it('skips the NUL pair and applies the rest of the reload', async () => {
  expect(await serves(served)).toBe(served.destination.database);
  pooler!.reload(config([served.config, lookalike('nul-left', 'a\0b', 'c'), lookalike('nul-right', 'a', 'b\0c'), added.config]));

  // The tenant added in the same change is served, and so is the one served before.
  expect(await serves(added)).toBe(added.destination.database);
  expect(await serves(served)).toBe(served.destination.database);

  // Reported: the pooler's list, the metric, and SHOW CONFIG.
  expect(pooler!.skippedTenants().map((t) => t.id)).toEqual(['nul-left', 'nul-right']);
  expect(pooler!.skippedTenants()[0]!.reason).toMatch(/must not contain control characters/);
  expect(valueOf(await scrape(pooler!.metricsPort), 'switchyard_config_skipped_tenants')).toBe(2);
  const rows = await adminRows(pooler!, admin, 'SHOW CONFIG');
  const skipped = rows.find((r) => r.key === 'tenants.skipped');
  expect(skipped?.value).toMatch(/^nul-left \(.*control characters.*\); nul-right \(.*control characters.*\)$/);
});

it('a new row claiming a served login does not take it over; the claimant is skipped', async () => {
  const thief = { ...added.config, id: 'skip-thief', database: served.clientDatabase, user: served.clientUser };
  // Listed first, so "first wins" would hand the thief the login.
  pooler!.reload(config([thief, served.config, added.config]));
  expect(await serves(served)).toBe(served.destination.database);
  expect(await serves(added)).toBe(added.destination.database);
  expect(pooler!.skippedTenants()).toEqual([
    { id: 'skip-thief', reason: `database "${served.clientDatabase}" and user "${served.clientUser}" are already used by tenant "${served.id}"` },
  ]);
  // The thief's password does not open the served login.
  const err = pgErrorInfo(await rejectionOf(serves(served, added.clientPassword)));
  expect(err.code).toBe('28P01');
  expect(valueOf(await scrape(pooler!.metricsPort), 'switchyard_config_skipped_tenants')).toBe(1);

  // Fixed in the next change: nothing is skipped any more.
  pooler!.reload(config([served.config, added.config]));
  expect(pooler!.skippedTenants()).toEqual([]);
  expect(valueOf(await scrape(pooler!.metricsPort), 'switchyard_config_skipped_tenants')).toBe(0);
});
