// `switchyard tenants create --read-endpoint` and `switchyard tenants read-endpoint <id>`: the CLI's
// way to the read endpoint (PATCH /tenants/{id} readEndpoint). Runs as a child process against the
// local control API (the real handlers on local adapters), as cli-tenants-move.test.ts does: it
// creates a tenant with the endpoint, shows it, changes the bound, turns it off and on, and
// reports the API's refusals (LOGIN_TAKEN: exit 1) and bad flags (exit 2).
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
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-read-'));
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

describe('switchyard tenants read-endpoint', () => {
  it('creates a tenant with a read endpoint, shows it, changes the bound, turns it off and on', async () => {
    const created = await cli(['tenants', 'create', 'reader', '--cluster', 'blue', '--no-provision', '--dest-password-file', file('pw1', 'destination-password-1\n'), '--read-endpoint', '--max-replica-lag', '250']);
    expect(created.code, created.stderr).toBe(0);
    expect((await adapters.tenants.get('reader'))!.readEndpoint).toEqual({ enabled: true, maxReplicaLagMs: 250 });
    const shown = await cli(['tenants', 'show', 'reader']);
    expect(shown.stdout).toMatch(/read endpoint\s+database reader_ro, user reader \(same password\); readers within 250 ms of the writer, else the writer/);

    const bound = await cli(['tenants', 'read-endpoint', 'reader', '--max-replica-lag', '2000']);
    expect(bound.code, bound.stderr).toBe(0);
    expect(bound.stdout).toContain('Read endpoint of reader: database reader_ro');
    const off = await cli(['tenants', 'read-endpoint', 'reader', '--off', '--json']);
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ version: 3, readEndpoint: { enabled: false, maxReplicaLagMs: 2000, database: 'reader_ro' } });
    const on = await cli(['tenants', 'read-endpoint', 'reader', '--on']);
    expect(on.code, on.stderr).toBe(0);
    expect((await adapters.tenants.get('reader'))!.readEndpoint).toEqual({ enabled: true, maxReplicaLagMs: 2000 });
  });

  it('reports the API refusing (exit 1) and bad flags (exit 2), changing nothing', async () => {
    const created = await cli(['tenants', 'create', 'plain', '--cluster', 'blue', '--no-provision', '--dest-password-file', file('pw2', 'destination-password-2\n')]);
    expect(created.code, created.stderr).toBe(0);
    // (plain_ro, plain) becomes someone's login: plain can no longer have it as its read login.
    const squat = await cli(['tenants', 'create', 'squat', '--database', 'plain_ro', '--user', 'plain', '--cluster', 'blue', '--no-provision', '--dest-password-file', file('pw3', 'destination-password-3\n')]);
    expect(squat.code, squat.stderr).toBe(0);
    const taken = await cli(['tenants', 'read-endpoint', 'plain', '--on']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('(LOGIN_TAKEN)');
    for (const args of [[], ['--on', '--off'], ['--max-replica-lag', '-1'], ['--max-replica-lag', '3600001'], ['--max-replica-lag', 'soon']]) {
      const r = await cli(['tenants', 'read-endpoint', 'plain', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
    const lagAlone = await cli(['tenants', 'create', 'other', '--cluster', 'blue', '--no-provision', '--dest-password-file', file('pw4', 'destination-password-4\n'), '--max-replica-lag', '100']);
    expect(lagAlone.code).toBe(2);
    expect((await adapters.tenants.get('plain'))!.version).toBe(1);
  });
});
