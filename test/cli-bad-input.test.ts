// Bad input to the `switchyard` CLI gets a clear message and a distinct exit status:
//   1  the API refused (unknown tenant, duplicate, invalid field) — its code and message shown
//   2  a usage error (unknown command or flag, a malformed value, a missing argument)
//   3  the API cannot be reached
// and with --json the error is also printed as JSON on stdout for scripts. The CLI runs as a
// child process against the local control API (the real handlers on local adapters; tenants with
// a fixed destination host, so no PostgreSQL is needed).
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
import { freePort, run } from '../shared/src/local/postgres-server.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'switchyard.js');

let dir: string;
let adapters: Adapters;
let api: ApiServer;
let destPasswordFile: string;

function cli(args: string[], opts: { api?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // The CLI finds the API's token in the state directory, as it does for `npm start`.
  return run(process.execPath, [BIN, ...args, '--api', opts.api ?? api.url], { timeoutMs: 30_000, env: { SWITCHYARD_API: '', SWITCHYARD_API_TOKEN: '', SWITCHYARD_STATE_DIR: join(dir, 'state') } });
}

const fixedHost = (id: string, extra: string[] = []): string[] => ['tenants', 'create', id, '--host', '127.0.0.1', '--port', '5432', '--dest-password-file', destPasswordFile, ...extra];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  adapters = await createLocalAdapters(join(dir, 'state'));
  const token = ensureApiToken(join(dir, 'state'));
  api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(depsWith(adapters, { log: pino({ level: 'silent' }), pg: createPgConnect({ ssl: 'disable' }) })), log: pino({ level: 'silent' }) });
  // What a running stack records: the CLI sends the state directory's token to that address only.
  writeFileSync(join(dir, 'state', 'stack.json'), JSON.stringify({ api: api.url }), { mode: 0o600 });
  destPasswordFile = join(dir, 'dest-password');
  writeFileSync(destPasswordFile, 'destination-password-1\n', { mode: 0o600 });
});

afterAll(async () => {
  await api?.close();
  await adapters?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('switchyard CLI: bad input', () => {
  it('an unknown tenant: exit 1 and the API’s reason', async () => {
    const r = await cli(['tenants', 'show', 'no-such-tenant']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('switchyard: tenant no-such-tenant not found (NOT_FOUND)\n');
    const d = await cli(['tenants', 'delete', 'no-such-tenant']);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('(NOT_FOUND)');
  });

  it('a duplicate: exit 1 ALREADY_EXISTS, whether the settings match or not', async () => {
    const first = await cli(fixedHost('dup-tenant'));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Created tenant dup-tenant/);
    expect(first.stdout).toMatch(/Password \(shown only now\): \S{20,}/);

    const same = await cli(fixedHost('dup-tenant'));
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/^switchyard: tenant dup-tenant already exists .*\(ALREADY_EXISTS\)\n$/);
    expect(same.stdout).toBe('');

    const different = await cli(fixedHost('dup-tenant', ['--mode', 'session']));
    expect(different.code).toBe(1);
    expect(different.stderr).toBe('switchyard: tenant dup-tenant already exists (ALREADY_EXISTS)\n');

    // The client login (database, user) is taken by the first tenant.
    const login = await cli(fixedHost('other-tenant', ['--database', 'dup_tenant', '--user', 'dup_tenant']));
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('(LOGIN_TAKEN)');
  });

  it('an invalid field: exit 1 naming the field', async () => {
    const r = await cli(fixedHost('Not_A_Slug'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^switchyard: invalid tenant: tenantId: must be a slug.*\(INVALID_REQUEST\)\n$/);
  });

  it('usage errors: exit 2 with the usage', async () => {
    for (const args of [
      ['tenants', 'frobnicate'],
      ['tenants', 'create'],
      ['tenants', 'create', 'x-tenant', '--pool-size', 'lots'],
      ['tenants', 'create', 'x-tenant', '--mode', 'statement'],
      ['tenants', 'show', 'a-tenant', 'extra'],
      ['tenants', 'list', '--no-such-flag'],
      ['clusters', 'explode'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^switchyard (tenants|clusters): .+\n\nusage: switchyard/);
    }
    const top = await run(process.execPath, [BIN, 'frobnicate']);
    expect(top.code).toBe(2);
    expect(top.stderr).toContain('unknown command "frobnicate"');
  });

  it('--json: the error as JSON on stdout, same exit status', async () => {
    const r = await cli(['tenants', 'show', 'no-such-tenant', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ error: { status: 404, code: 'NOT_FOUND', message: 'tenant no-such-tenant not found' } });
  });

  it('failover against an API that is not a local stack: exit 1 saying so', async () => {
    const r = await cli(['clusters', 'failover', 'local']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(FAILOVER_UNSUPPORTED)');
  });

  it('switchover: against an API that is not a local stack exit 1 saying so; a malformed --drain-timeout is a usage error (exit 2)', async () => {
    const r = await cli(['clusters', 'switchover', 'local']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(SWITCHOVER_UNSUPPORTED)');
    for (const bad of ['-1', 'ten', '121']) {
      const u = await cli(['clusters', 'switchover', 'local', '--drain-timeout', bad]);
      expect(u.code, bad).toBe(2);
      expect(u.stderr).toContain('--drain-timeout');
    }
  });

  it('clusters delete: an unknown cluster is NOT_FOUND, one in use CLUSTER_IN_USE (exit 1); an unused one is deleted (exit 0)', async () => {
    const unknown = await cli(['clusters', 'delete', 'no-such-cluster']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('switchyard: cluster no-such-cluster not found (NOT_FOUND)\n');
    await adapters.clusters.create({ clusterId: 'cli-used', kind: 'static', writer: { host: '127.0.0.1', port: 5432 } });
    await adapters.clusters.create({ clusterId: 'cli-unused', kind: 'static', writer: { host: '127.0.0.1', port: 5432 } });
    const t = await cli(['tenants', 'create', 'on-cli-used', '--cluster', 'cli-used', '--no-provision', '--dest-password-file', destPasswordFile]);
    expect(t.code, t.stderr).toBe(0);
    const used = await cli(['clusters', 'delete', 'cli-used']);
    expect(used.code).toBe(1);
    expect(used.stderr).toContain('(CLUSTER_IN_USE)');
    const ok = await cli(['clusters', 'delete', 'cli-unused']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('Deleted cluster cli-unused.\n');
    expect(await adapters.clusters.get('cli-unused')).toBeUndefined();
    const usage = await cli(['clusters', 'delete']);
    expect(usage.code).toBe(2);
  });

  it('an API that does not answer: exit 3 and what to do', async () => {
    const r = await cli(['tenants', 'list'], { api: `http://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach the control API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); is `npm start` running\?/);
  });
});
