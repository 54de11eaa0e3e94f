// The built pooler bundle, run the way the systemd unit runs it (`node main.js <args>` from a
// directory with no node_modules), serves a tenant against a real PostgreSQL, picks up a new
// tenant on SIGHUP (what `systemctl reload switchyard` sends), and exits cleanly on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { toYaml } from '../shared/src/yaml.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUNDLE_ENTRY, buildPoolerBundle } from '../deploy/build-bundle.ts';
import { createScramVerifier } from '../shared/src/auth/verifier.ts';
import { freePort, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';

const root = resolve(import.meta.dirname, '..');
const hasPooler = existsSync(join(root, 'pooler', 'src', 'main.ts'));
// LOUD: this test needs the lead's pooler entry point; it runs as soon as pooler/src/main.ts exists.
if (!hasPooler) console.warn('SKIPPING bundle-serves-tenant: pooler/src/main.ts does not exist yet, there is no pooler to bundle');

let server: PostgresServer | undefined;
let pooler: ChildProcess | undefined;
let output = '';
let port = 0;
let healthPort = 0;
let configFile = '';

/** Listener and the health endpoint the NLB checks (user data writes the same sections). */
const base = () => ({ listen: { host: '127.0.0.1', port }, metrics: { host: '127.0.0.1', port: healthPort } });

function tenant(id: string, destination: { user: string; password: string }, clientPassword: string) {
  return {
    id,
    database: `${id}_db`,
    user: `${id}_user`,
    verifiers: [createScramVerifier(clientPassword)],
    target: { host: server?.host ?? '127.0.0.1', port: server?.port ?? 5432, database: destination.user, user: destination.user, password: destination.password },
  };
}

async function destination(name: string): Promise<{ user: string; password: string }> {
  const password = `srv${name}Secret1`;
  await server?.psql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  await server?.psql(`CREATE DATABASE ${name} OWNER ${name}`);
  return { user: name, password };
}

function waitForOutput(pattern: RegExp, what: string): Promise<void> {
  return new Promise((resolveWait, reject) => {
    const check = (): boolean => pattern.test(output);
    if (check()) return resolveWait();
    const onData = (): void => {
      if (check()) {
        cleanup();
        resolveWait();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`pooler exited (${String(code)}) before ${what}:\n${output}`));
    };
    const cleanup = (): void => {
      pooler?.stdout?.off('data', onData);
      pooler?.stderr?.off('data', onData);
      pooler?.off('exit', onExit);
    };
    pooler?.stdout?.on('data', onData);
    pooler?.stderr?.on('data', onData);
    pooler?.once('exit', onExit);
  });
}

async function query(id: string, clientPassword: string): Promise<{ current_user: string; current_database: string }> {
  const client = new pg.Client({ host: '127.0.0.1', port, database: `${id}_db`, user: `${id}_user`, password: clientPassword, connectionTimeoutMillis: 20_000 });
  await client.connect();
  try {
    const res = await client.query<{ current_user: string; current_database: string }>('SELECT current_user, current_database()');
    const row = res.rows[0];
    if (!row) throw new Error('no row');
    return row;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (!hasPooler) return;
  const bundle = await buildPoolerBundle({ root, outDir: join(mkdtempSync(join(tmpdir(), 'switchyard-release-')), 'release') });
  server = await startPostgres();
  const acme = await destination('acme_owner');
  port = await freePort();
  healthPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-etc-'));
  configFile = join(dir, 'pooler.yaml');
  writeFileSync(configFile, toYaml({ ...base(), tenants: [tenant('acme', acme, 'acme-client-pw')] }));
  // Like the unit: the bundle's own directory, a minimal environment, no node_modules anywhere up the tree.
  pooler = spawn(process.execPath, [join(bundle.outDir, BUNDLE_ENTRY), '--config', configFile], {
    cwd: bundle.outDir,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pooler.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  pooler.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await waitForOutput(/pooler listening/, 'listening');
});

afterAll(async () => {
  if (pooler && pooler.exitCode === null) {
    const exited = new Promise((r) => pooler?.once('exit', r));
    pooler.kill('SIGKILL');
    await exited;
  }
  await server?.stop();
});

it.skipIf(!hasPooler)('serves a tenant: a pg client lands on the tenant destination database as its role', async () => {
  expect(await query('acme', 'acme-client-pw')).toEqual({ current_user: 'acme_owner', current_database: 'acme_owner' });
});

it.skipIf(!hasPooler)('answers the load balancer health check: GET /readyz and /healthz are 200', async () => {
  for (const path of ['/readyz', '/healthz']) {
    const res = await fetch(`http://127.0.0.1:${healthPort}${path}`);
    expect(res.status, path).toBe(200);
  }
});

it.skipIf(!hasPooler)('SIGHUP (systemctl reload) adds a tenant without a restart', async () => {
  const globex = await destination('globex_owner');
  const pid = pooler?.pid;
  const acme = { user: 'acme_owner', password: 'srvacme_ownerSecret1' };
  writeFileSync(configFile, toYaml({ ...base(), tenants: [tenant('acme', acme, 'acme-client-pw'), tenant('globex', globex, 'globex-client-pw')] }));
  pooler?.kill('SIGHUP');
  await waitForOutput(/configuration reloaded/, 'the reload');
  expect(await query('globex', 'globex-client-pw')).toEqual({ current_user: 'globex_owner', current_database: 'globex_owner' });
  expect(pooler?.pid).toBe(pid);
  expect(pooler?.exitCode).toBeNull();
  expect(await query('acme', 'acme-client-pw')).toEqual({ current_user: 'acme_owner', current_database: 'acme_owner' });
});

it.skipIf(!hasPooler)('SIGTERM (systemctl stop) drains and exits 0', async () => {
  const exited = new Promise<number | null>((r) => pooler?.once('exit', (code) => r(code)));
  pooler?.kill('SIGTERM');
  expect(await exited).toBe(0);
});
