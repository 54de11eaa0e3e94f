// The pooler as a process: `switchyard pooler --config FILE.yaml` starts, serves a tenant, and on
// SIGTERM drains — it stops accepting, lets an open transaction finish, then exits 0. A transaction
// that does not finish within limits.shutdown_timeout is cut off (rolled back) and the process
// still exits: the bound holds.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { toYaml } from '../shared/src/yaml.ts';
import { freePort, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, until, within, type PgClient } from './helpers/clients.ts';
import { canConnect, spawnPooler, type PoolerChild } from './helpers/pooler-process.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';

const HANG_MS = 30_000;

let pg: PostgresServer;
let tenant: TestTenant;
let dir: string;
const children: ChildProcess[] = [];
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'cli-tenant', pool: { mode: 'transaction', size: 2 } });
  const admin = await connectPg(destinationConn(tenant));
  await admin.query('CREATE TABLE drained (who text NOT NULL)');
  await admin.end();
  dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => endQuietly(c)));
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes a YAML config and starts `switchyard pooler --config` with this process's Node (22). */
async function startCli(shutdownTimeout: number): Promise<PoolerChild> {
  const port = await freePort();
  const config = poolerConfig([tenant.config], { listen: { host: '127.0.0.1', port }, log_level: 'info', limits: { shutdown_timeout: shutdownTimeout } });
  const file = join(dir, `pooler-${port}.yaml`);
  writeFileSync(file, toYaml(config), { mode: 0o600 });
  const p = await spawnPooler(['--config', file], port);
  children.push(p.child);
  return p;
}

async function rowsFor(who: string): Promise<number> {
  const admin = await connectPg(destinationConn(tenant));
  try {
    const r = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM drained WHERE who = $1', [who]);
    return r.rows[0]?.n ?? -1;
  } finally {
    await admin.end();
  }
}

it('serves a tenant and exits 0 on SIGTERM', async () => {
  const p = await startCli(10);
  const c = await connectPg(poolerConn({ host: '127.0.0.1', port: p.port }, tenant));
  clients.push(c);
  const r = await c.query<{ db: string; v: number }>('SELECT current_database() AS db, $1::int AS v', [1]);
  expect(r.rows).toEqual([{ db: tenant.destination.database, v: 1 }]);
  p.child.kill('SIGTERM');
  const exit = await within(p.exited, HANG_MS, 'the pooler process to exit after SIGTERM');
  expect(exit, p.output()).toEqual({ code: 0, signal: null });
});

it('lets an open transaction finish after SIGTERM, then exits 0', async () => {
  const p = await startCli(20);
  const a = await connectPg(poolerConn({ host: '127.0.0.1', port: p.port }, tenant));
  clients.push(a);
  await a.query('BEGIN');
  await a.query('INSERT INTO drained (who) VALUES ($1)', ['drain-commit']);

  p.child.kill('SIGTERM');
  // The drain has begun once the listener is closed.
  await until(async () => !(await canConnect(p.port)), HANG_MS, 'the pooler to stop accepting');
  expect(p.child.exitCode).toBeNull();

  // The transaction is still alive and can finish.
  await a.query('INSERT INTO drained (who) VALUES ($1)', ['drain-commit']);
  await a.query('COMMIT');
  const exit = await within(p.exited, HANG_MS, 'the pooler process to exit once the transaction ended');
  expect(exit, p.output()).toEqual({ code: 0, signal: null });
  expect(await rowsFor('drain-commit')).toBe(2);
  // The client was told or disconnected; a query now fails rather than hanging.
  const after = pgErrorInfo(await a.query('SELECT 1').then(() => new Error('query after shutdown succeeded'), (e: unknown) => e));
  expect(after.message).not.toBe('query after shutdown succeeded');
  console.info(`client after drain: ${after.code ?? ''} ${after.message}; background: ${backgroundErrorsOf(a).map((e) => e.message).join(' | ')}`);
});

it('cuts off a transaction that outlives shutdown_timeout and still exits', async () => {
  const p = await startCli(1);
  const a = await connectPg(poolerConn({ host: '127.0.0.1', port: p.port }, tenant));
  clients.push(a);
  await a.query('BEGIN');
  await a.query('INSERT INTO drained (who) VALUES ($1)', ['drain-abandoned']);
  p.child.kill('SIGTERM');
  // The client never commits; the bound (1 s) must end the process anyway.
  const exit = await within(p.exited, HANG_MS, 'the pooler process to exit after shutdown_timeout');
  expect(exit.signal, p.output()).toBeNull();
  expect(exit.code, p.output()).toBe(0);
  // The server connection closed with the transaction open: PostgreSQL rolled it back.
  await until(async () => (await openBackends()) === 0, HANG_MS, 'the cut-off server connection to go away');
  expect(await rowsFor('drain-abandoned')).toBe(0);
});

async function openBackends(): Promise<number> {
  const admin = await connectPg(destinationConn(tenant));
  try {
    const r = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [
      tenant.destination.user,
    ]);
    return r.rows[0]?.n ?? -1;
  } finally {
    await admin.end();
  }
}
