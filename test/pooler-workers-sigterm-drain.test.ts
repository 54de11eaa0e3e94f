// Drain with `--workers 2`: SIGTERM to the supervisor drains every worker as one pooler does —
// /readyz turns 503, the client port stops accepting, open transactions on both workers finish and
// commit — and then every process exits, the supervisor with 0. The console's SHUTDOWN, sent to
// one worker's session, drains the whole machine the same way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { nodeOf } from '../pooler/src/frontend/cancel-keys.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, until, within, type PgClient } from './helpers/clients.ts';
import { canConnect } from './helpers/pooler-process.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';
import { alive, readyz, startWorkersPooler, type WorkersPooler } from './helpers/workers.ts';

const HANG_MS = 30_000;
const MAX_CONNECTS = 40;

let pg: PostgresServer;
let tenant: TestTenant;
let admin: AdminLogin;
let dir: string;
const poolers: WorkersPooler[] = [];
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'wdrain', pool: { mode: 'transaction', size: 4 } });
  const owner = await connectPg(destinationConn(tenant));
  await owner.query('CREATE TABLE drained (who text NOT NULL)');
  await endQuietly(owner);
  admin = await createAdminLogin(pg);
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-drain-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => endQuietly(c)));
  for (const p of poolers.splice(0)) await p.stop().catch(() => undefined);
});

afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<WorkersPooler> {
  const p = await startWorkersPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] }, limits: { shutdown_timeout: 20 } }), dir, 2);
  poolers.push(p);
  return p;
}

/** A client on worker `node`, inside a transaction that inserted one row tagged `who`. */
async function openTransactionOn(p: WorkersPooler, node: number, who: string): Promise<PgClient> {
  for (let i = 0; i < MAX_CONNECTS; i++) {
    const c = await connectPg(poolerConn(p, tenant));
    clients.push(c);
    if (nodeOf((c as unknown as { processID: number }).processID) !== node) {
      await endQuietly(c);
      continue;
    }
    await c.query('BEGIN');
    await c.query('INSERT INTO drained (who) VALUES ($1)', [who]);
    return c;
  }
  throw new Error(`no connection landed on worker ${node}`);
}

async function rowsFor(who: string): Promise<number> {
  const owner = await connectPg(destinationConn(tenant));
  try {
    return (await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM drained WHERE who = $1', [who])).rows[0]!.n;
  } finally {
    await endQuietly(owner);
  }
}

it('SIGTERM: every worker lets its open transaction commit, then all processes exit 0', async () => {
  const p = await start();
  const workers = p.workerPids();
  expect(workers).toHaveLength(2);
  const one = await openTransactionOn(p, 1, 'drain-1');
  const two = await openTransactionOn(p, 2, 'drain-2');

  p.child.kill('SIGTERM');
  await until(async () => (await readyz(p.metricsPort)) === 503, HANG_MS, '/readyz to turn 503');
  await until(async () => !(await canConnect(p.port)), HANG_MS, 'the client port to stop accepting');
  expect(p.child.exitCode).toBeNull();
  expect(workers.every(alive)).toBe(true);

  // Both transactions are still alive and can finish.
  await one.query('COMMIT');
  await two.query('COMMIT');
  const exit = await within(p.exited, HANG_MS, 'the supervisor to exit once the transactions ended');
  expect(exit, p.output()).toEqual({ code: 0, signal: null });
  expect(workers.some(alive)).toBe(false);
  expect(await rowsFor('drain-1')).toBe(1);
  expect(await rowsFor('drain-2')).toBe(1);
});

it('the console SHUTDOWN on one worker drains the whole machine', async () => {
  const p = await start();
  const workers = p.workerPids();
  const adm = await connectAdmin(p, admin);
  clients.push(adm);
  expect((await adm.query('SHUTDOWN')).command).toBe('SHUTDOWN');
  const exit = await within(p.exited, HANG_MS, 'the supervisor to exit after SHUTDOWN');
  expect(exit, p.output()).toEqual({ code: 0, signal: null });
  expect(workers.some(alive)).toBe(false);
});
