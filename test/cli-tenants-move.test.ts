// `switchyard tenants move <id>`: the CLI's way to PATCH /tenants/{id} with a destination. Runs as
// a child process against the local control API (the real handlers on local adapters), as
// cli-bad-input.test.ts does: it moves a fixed-host tenant onto a cluster (the stored password
// re-encrypted under the cluster's context), changes role and password, drops the schema, and
// reports the API's refusals (UNKNOWN_CLUSTER, VERSION_CONFLICT: exit 1) and bad flags (exit 2).
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
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../shared/src/local/adapters.ts';
import { run } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'switchyard.js');

let dir: string;
let adapters: Adapters;
let api: ApiServer;
const file = (name: string, content: string): string => {
  const p = join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
};

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args, '--api', api.url], { timeoutMs: 30_000, env: { SWITCHYARD_API: '', SWITCHYARD_API_TOKEN: '', SWITCHYARD_STATE_DIR: join(dir, 'state') } });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-move-'));
  adapters = await createLocalAdapters(join(dir, 'state'));
  const token = ensureApiToken(join(dir, 'state'));
  api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(depsWith(adapters, { log: pino({ level: 'silent' }), pg: createPgConnect({ ssl: 'disable' }) })), log: pino({ level: 'silent' }) });
  writeFileSync(join(dir, 'state', 'stack.json'), JSON.stringify({ api: api.url }), { mode: 0o600 });
  await adapters.clusters.create({ clusterId: 'blue', kind: 'static', writer: { host: '127.0.0.1', port: 5432 } });
});

afterAll(async () => {
  await api?.close();
  await adapters?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('switchyard tenants move', () => {
  it('moves a tenant onto a cluster, then changes its role, password and schema', async () => {
    const created = await cli(['tenants', 'create', 'mover', '--host', '127.0.0.1', '--port', '6543', '--schema', 'app', '--dest-password-file', file('pw1', 'destination-password-1\n')]);
    expect(created.code, created.stderr).toBe(0);

    const moved = await cli(['tenants', 'move', 'mover', '--cluster', 'blue']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('Tenant mover now goes to cluster blue, database mover schema app, role mover (version 2).');
    let t = (await adapters.tenants.get('mover'))!;
    expect(t.destination).toMatchObject({ clusterId: 'blue', database: 'mover', user: 'mover', schema: 'app' });
    expect(t.destination.host).toBeUndefined();
    expect(await adapters.secrets.decrypt(t.destination.passwordCiphertext, tenantSecretContext('mover', { clusterId: 'blue' }))).toBe('destination-password-1');

    const again = await cli(['tenants', 'move', 'mover', '--dest-user', 'mover_v2', '--no-schema', '--dest-password-file', file('pw2', 'destination-password-2\n'), '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 3, destination: { clusterId: 'blue', database: 'mover', user: 'mover_v2' } });
    t = (await adapters.tenants.get('mover'))!;
    expect(t.destination.schema).toBeUndefined();
    expect(await adapters.secrets.decrypt(t.destination.passwordCiphertext, tenantSecretContext('mover', { clusterId: 'blue' }))).toBe('destination-password-2');
  });

  it('reports the API refusing (exit 1) and bad flags (exit 2), changing nothing', async () => {
    const created = await cli(['tenants', 'create', 'stayer', '--host', '127.0.0.1', '--dest-password-file', file('pw3', 'destination-password-3\n')]);
    expect(created.code, created.stderr).toBe(0);
    const unknown = await cli(['tenants', 'move', 'stayer', '--cluster', 'nowhere']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('(UNKNOWN_CLUSTER)');
    const stale = await cli(['tenants', 'move', 'stayer', '--cluster', 'blue', '--if-version', '7']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('(VERSION_CONFLICT)');
    for (const args of [['--cluster', 'blue', '--host', 'x'], ['--port', '5433'], [], ['--schema', 's', '--no-schema'], ['--if-version', 'one', '--cluster', 'blue']]) {
      const r = await cli(['tenants', 'move', 'stayer', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
    expect((await adapters.tenants.get('stayer'))!.version).toBe(1);
  });
});
