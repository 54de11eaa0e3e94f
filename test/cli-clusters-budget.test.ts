// `switchyard clusters get | budget` and `switchyard status` against a (non-local-stack) control
// API: the cluster's connection budget, its tenants' sizes and each pooler's share, setting
// it (and refusing bad figures: exit 2), and every pooler's applied config version, lease and
// health. A child process against the local control API (the real handlers on local adapters).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depsWith } from '../functions/lib/deps.ts';
import { createPgConnect } from '../functions/lib/pg-target.ts';
import { startApiServer, type ApiServer } from '../local/api-server.ts';
import { ensureApiToken } from '../local/api-token.ts';
import { apiRoutes } from '../local/routes.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import { run } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { exampleNewTenant } from '../shared/src/testing/examples.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'switchyard.js');

let dir: string;
let adapters: Adapters;
let api: ApiServer;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args, '--api', api.url], { timeoutMs: 30_000, env: { SWITCHYARD_API: '', SWITCHYARD_API_TOKEN: '', SWITCHYARD_STATE_DIR: join(dir, 'state') } });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-budget-'));
  adapters = await createLocalAdapters(join(dir, 'state'));
  const token = ensureApiToken(join(dir, 'state'));
  api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(depsWith(adapters, { log: pino({ level: 'silent' }), pg: createPgConnect({ ssl: 'disable' }) })), log: pino({ level: 'silent' }) });
  writeFileSync(join(dir, 'state', 'stack.json'), JSON.stringify({ api: api.url }), { mode: 0o600 });
  await adapters.clusters.create({ clusterId: 'blue', kind: 'static', writer: { host: '127.0.0.1', port: 5432 }, maxConnections: 40 });
  await adapters.tenants.create(exampleNewTenant({ tenantId: 'ten-a', client: { database: 'a', user: 'a' }, destination: { clusterId: 'blue', database: 'a', user: 'a', passwordCiphertext: 'x' }, pool: { size: 7 } }));
  const now = Date.now();
  await adapters.heartbeats.put({ poolerId: 'pooler-one', appliedConfigVersion: 0, lastSeen: new Date(now).toISOString() });
  await adapters.heartbeats.put({ poolerId: 'pooler-two', appliedConfigVersion: 0, lastSeen: new Date(now).toISOString() });
  await adapters.budgets.write({
    version: 1,
    generation: 2,
    members: [
      { holder: 'a'.repeat(16), poolerId: 'pooler-one', expiresAtMs: now + 600_000, ack: 2 },
      { holder: 'b'.repeat(16), poolerId: 'pooler-two', expiresAtMs: now + 600_000, ack: 1 },
    ],
  });
});

afterAll(async () => {
  await api?.close();
  await adapters?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('switchyard clusters get | budget, status', () => {
  it('shows the budget, the allotments and each pooler’s share', async () => {
    const r = await cli(['clusters', 'get', 'blue']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('budget 35 server connections (max_connections 40 minus 5 reserved)');
    expect(r.stdout).toContain('Tenants: sizes add up to 7');
    expect(r.stdout).toMatch(/ten-a\s+7/);
    expect(r.stdout).toContain('generation 2, rebalancing');
    // 35 split over the two leases: 18 and 17.
    expect(r.stdout).toMatch(/pooler-one\s+1[78]\s+yes/);
    expect(r.stdout).toMatch(/pooler-two\s+1[78]\s+no/);
  });

  it('sets the budget and back to the default; refuses bad figures with exit 2', async () => {
    const set = await cli(['clusters', 'budget', 'blue', '--connection-budget', '12']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('Cluster blue: budget 12 server connections (set explicitly).');
    expect((await adapters.clusters.get('blue'))?.connectionBudget).toBe(12);
    const back = await cli(['clusters', 'budget', 'blue', '--connection-budget', 'default', '--max-connections', '200']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('budget 180 server connections (max_connections 200 minus 20 reserved)');
    for (const bad of [['--connection-budget', '0'], ['--max-connections', 'lots'], []]) {
      const r = await cli(['clusters', 'budget', 'blue', ...bad]);
      expect(r.code, r.stdout).toBe(2);
    }
  });

  it('status shows every pooler’s applied config version, health and lease', async () => {
    const r = await cli(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('budget leases generation 2, rebalancing');
    expect(r.stdout).toMatch(/pooler-one\s+0\s+\S+\s+(?:up to date|behind)\s+ok\s+until /);
    expect(r.stdout).toMatch(/pooler-two\s+0\s+\S+\s+(?:up to date|behind)\s+rebalancing\s+until .*\(shares not in effect yet\)/);
    expect(r.stdout).toContain('Cluster blue: writer 127.0.0.1:5432, epoch 0, budget');
  });
});
