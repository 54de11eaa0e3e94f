// One name for the control plane's config version a pooler applied: `applied_config_version` in
// SHOW CONFIG, the metric switchyard_applied_config_version and the heartbeat's
// appliedConfigVersion give the same number, at start and after each reload — by the console's
// RELOAD and by the version poll, both through SourceController.reload (docs/architecture.md,
// "A reload"). The local stack reads the version from SHOW CONFIG (local/pooler-observer.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema, startPooler } from '../pooler/src/index.ts';
import { createLocalSource } from '../pooler/src/config/sources/local-source.ts';
import { SourceController } from '../pooler/src/config/sources/controller.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { scrape, valueOf } from './helpers/metrics.ts';
import { testLogger } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let stateDir: string;
let a: Adapters;
let admin: AdminLogin;
let pooler: Pooler | undefined;
let controller: SourceController | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  admin = await createAdminLogin(pg);
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-applied-version-'));
  a = await createLocalAdapters(stateDir);
  await a.config.bumpConfigVersion();
  await a.config.bumpConfigVersion();
  const log = testLogger();
  const base = configSchema.parse({ listen: { host: '127.0.0.1', port: 0 }, log_level: 'silent', admin: { users: [admin.config] }, metrics: { host: '127.0.0.1', port: 0 } });
  const source = await createLocalSource(stateDir, { log, base: () => base });
  const initial = await source.load();
  pooler = await startPooler(initial.config, { logger: log });
  controller = new SourceController(pooler, source, initial, { log, pollMaxMs: 0, heartbeatMs: 0 });
  controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await pooler?.close();
  await a?.close();
  await pg?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** The applied version as SHOW CONFIG, the metric and the heartbeat give it. */
async function appliedEverywhere(): Promise<{ show: unknown; metric: number; heartbeat: number }> {
  const row = (await adminRows(pooler!, admin, 'SHOW CONFIG')).find((r) => r.key === 'applied_config_version');
  return {
    show: row?.value,
    metric: valueOf(await scrape(pooler!.metricsPort), 'switchyard_applied_config_version'),
    heartbeat: controller!.heartbeatOf(new Date()).appliedConfigVersion,
  };
}

it('shows the version applied at start under one name', async () => {
  expect(await appliedEverywhere()).toEqual({ show: '2', metric: 2, heartbeat: 2 });
});

it('agrees after the console RELOAD and after the version poll', async () => {
  const v3 = await a.config.bumpConfigVersion();
  const r = await adminRows(pooler!, admin, 'RELOAD');
  expect(r).toEqual([]);
  expect(await appliedEverywhere()).toEqual({ show: String(v3), metric: v3, heartbeat: v3 });

  const v4 = await a.config.bumpConfigVersion();
  await controller!.poll();
  expect(await appliedEverywhere()).toEqual({ show: String(v4), metric: v4, heartbeat: v4 });
});
