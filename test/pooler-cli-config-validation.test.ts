// Config validation at start-up: `switchyard pooler --config FILE.yaml` with an invalid file exits
// non-zero and names the offending key (e.g. `tenants.0.pool.size`), so an operator can fix the
// file without reading code. No PostgreSQL is needed: validation happens before any connection.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toYaml } from '../shared/src/yaml.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';

const ROOT = resolve(import.meta.dirname, '..');

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cfg-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A valid tenant (md5 verifier = 'md5' + md5(password || user), PostgreSQL's format). */
function validTenant(): Record<string, unknown> {
  return {
    id: 'cfg-tenant',
    database: 'app',
    user: 'alice',
    verifiers: ['md5' + createHash('md5').update('secret' + 'alice').digest('hex')],
    target: { host: '127.0.0.1', port: 5432, database: 'app', user: 'app_owner', password: 'x' },
    pool: { mode: 'transaction', size: 5 },
  };
}

function runCli(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // A valid config would start listening: never let a mistaken case hang the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', rej);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, out });
    });
  });
}

async function runWithConfig(text: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return runCli(['pooler', '--config', file]);
}

async function configWith(mutate: (tenant: Record<string, unknown>) => void): Promise<string> {
  const tenant = validTenant();
  mutate(tenant);
  return toYaml({ listen: { host: '127.0.0.1', port: await freePort() }, log_level: 'silent', tenants: [tenant] });
}

it.each([
  ['a pool size of 0', (t: Record<string, unknown>) => (t.pool = { mode: 'transaction', size: 0 }), 'tenants.0.pool.size'],
  ['a pool size that is not a number', (t: Record<string, unknown>) => (t.pool = { size: 'twenty' }), 'tenants.0.pool.size'],
  ['an unknown pool mode', (t: Record<string, unknown>) => (t.pool = { mode: 'statement' }), 'tenants.0.pool.mode'],
  ['an invalid tenant id', (t: Record<string, unknown>) => (t.id = 'Not A Slug'), 'tenants.0.id'],
  ['a target port out of range', (t: Record<string, unknown>) => (t.target = { host: 'h', port: 70000, database: 'd', user: 'u' }), 'tenants.0.target.port'],
  // Above 2^31-1 ms a Node.js timer fires at once: every server connect would time out at once.
  [
    'a connect_timeout no timer can wait',
    (t: Record<string, unknown>) => (t.pool = { connect_timeout: 3_000_000 }),
    'tenants.0.pool.connect_timeout: must be at most 2147483 seconds',
  ],
  ['a client user name with NUL', (t: Record<string, unknown>) => (t.user = 'ali\0ce'), 'tenants.0.user: must not contain control characters'],
])('rejects %s, naming %s', async (_what, mutate, key) => {
  const r = await runWithConfig(await configWith(mutate));
  expect(r.signal, r.out).toBeNull();
  expect(r.code, r.out).not.toBe(0);
  expect(r.out).toContain(key);
});

it('rejects an unknown key, naming it', async () => {
  const r = await runWithConfig(await configWith((t) => (t.pool = { size: 5, sizee: 3 })));
  expect(r.signal, r.out).toBeNull();
  expect(r.code, r.out).not.toBe(0);
  expect(r.out).toContain('tenants.0.pool');
  expect(r.out).toContain('sizee');
});

it('rejects a file that is not YAML', async () => {
  const r = await runWithConfig('tenants: [ {id: x\n  - : ]]]\n');
  expect(r.signal, r.out).toBeNull();
  expect(r.code, r.out).not.toBe(0);
  expect(r.out).toMatch(/yaml|parse/i);
});

it('rejects a missing config file, naming it', async () => {
  const missing = join(dir, 'does-not-exist.yaml');
  const r = await runCli(['pooler', '--config', missing]);
  expect(r.signal, r.out).toBeNull();
  expect(r.code, r.out).not.toBe(0);
  expect(r.out).toContain('does-not-exist.yaml');
});
