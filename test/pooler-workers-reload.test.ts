// Reload with `--workers 2`: a tenant added to the configuration file becomes reachable through
// every worker — after SIGHUP to the supervisor (which relays it to all workers), and after the
// console's RELOAD on one worker's session (which answers only once every worker applied it, so
// from then on no connection may fail). Which worker served a connection is read from its cancel
// key (the node id in BackendKeyData: worker k is node k). Existing clients stay connected.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { load as parseYaml } from 'js-yaml';
import { toYaml } from '../shared/src/yaml.ts';
import { nodeOf } from '../pooler/src/frontend/cancel-keys.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgErrorInfo, until, type PgClient } from './helpers/clients.ts';
import { scrape, valueOf } from './helpers/metrics.ts';
import { createTenant, poolerConfig, poolerConn, type TenantConfigInput, type TestTenant } from './helpers/tenants.ts';
import { startWorkersPooler, type WorkersPooler } from './helpers/workers.ts';

const HANG_MS = 20_000;
/** Connections until both workers have served one: even odds each, so 40 miss one with odds 2^-39. */
const MAX_CONNECTS = 40;

let pg: PostgresServer;
let first: TestTenant;
let bySighup: TestTenant;
let byReload: TestTenant;
let admin: AdminLogin;
let dir: string;
let pooler: WorkersPooler | undefined;
const held: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  first = await createTenant(pg, { id: 'reload-first', pool: { size: 2 } });
  bySighup = await createTenant(pg, { id: 'reload-sighup', pool: { size: 2 } });
  byReload = await createTenant(pg, { id: 'reload-console', pool: { size: 2 } });
  admin = await createAdminLogin(pg);
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-reload-'));
  pooler = await startWorkersPooler(poolerConfig([first.config], { admin: { users: [admin.config] } }), dir, 2);
});

afterAll(async () => {
  await Promise.all(held.map((c) => endQuietly(c)));
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function addTenant(t: TenantConfigInput): void {
  const config = parseYaml(readFileSync(pooler!.file, 'utf8')) as { tenants: TenantConfigInput[] };
  config.tenants.push(t);
  writeFileSync(pooler!.file, toYaml(config), { mode: 0o600 });
}

/**
 * Connects once, runs a query; the worker (node) that served it, or undefined if the login was
 * refused as one the pooler does not know (FATAL 28P01). Any other failure is an error.
 */
async function serveOnce(t: TestTenant): Promise<number | undefined> {
  let c: PgClient;
  try {
    c = await connectPg(poolerConn(pooler!, t));
  } catch (err) {
    const e = pgErrorInfo(err);
    if (e.code === '28P01' && e.severity === 'FATAL') return undefined;
    throw err;
  }
  try {
    const r = await c.query<{ db: string }>('SELECT current_database() AS db');
    expect(r.rows[0]?.db).toBe(t.destination.database);
    return nodeOf((c as unknown as { processID: number }).processID);
  } finally {
    await endQuietly(c);
  }
}

it('SIGHUP to the supervisor adds the tenant on every worker', async () => {
  // A client of the existing tenant on each side of the reload.
  const before = await connectPg(poolerConn(pooler!, first));
  held.push(before);
  expect(await serveOnce(bySighup)).toBeUndefined();

  addTenant(bySighup.config);
  pooler!.child.kill('SIGHUP');
  const served = new Set<number>();
  await until(
    async () => {
      const node = await serveOnce(bySighup);
      if (node !== undefined) served.add(node);
      return served.size === 2;
    },
    HANG_MS,
    'both workers to serve the new tenant',
  );
  expect([...served].sort()).toEqual([1, 2]);
  await until(async () => valueOf(await scrape(pooler!.metricsPort), 'switchyard_reloads_total') === 1, HANG_MS, 'the reload to be counted');
  expect((await before.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
});

it('the console RELOAD answers once every worker applied it: no connection fails afterwards', async () => {
  addTenant(byReload.config);
  const adm = await connectAdmin(pooler!, admin);
  held.push(adm);
  const r = await adm.query('RELOAD');
  expect(r.command).toBe('RELOAD');
  const served = new Set<number>();
  for (let i = 0; i < MAX_CONNECTS && served.size < 2; i++) {
    const node = await serveOnce(byReload);
    expect(node, `connection ${i + 1} after RELOAD`).toBeDefined();
    served.add(node!);
  }
  expect([...served].sort()).toEqual([1, 2]);
  const dbs = (await adminRows(pooler!, admin, 'SHOW DATABASES')).map((d) => d.name);
  expect(dbs).toEqual(expect.arrayContaining([first.id, bySighup.id, byReload.id]));
});
