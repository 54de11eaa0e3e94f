// A worker of `--workers 2` killed with SIGKILL: its clients lose their connections, the other
// worker's clients go on undisturbed, the supervisor starts a new worker in the same slot (same
// node id), /readyz is 200 again and both workers serve new connections. The machine's counters do
// not go backwards across the restart (the dead worker's last scraped counts are kept), and the
// new worker takes on the machine's PAUSE state before it serves anyone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeOf } from '../pooler/src/frontend/cancel-keys.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgbench, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { scrape, valueOf } from './helpers/metrics.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';
import { clientsPerWorker, readyz, startWorkersPooler, workerOf, type WorkersPooler } from './helpers/workers.ts';

const HANG_MS = 20_000;
const MAX_CONNECTS = 40;

let pg: PostgresServer;
let tenant: TestTenant;
let paused: TestTenant;
let admin: AdminLogin;
let dir: string;
let pooler: WorkersPooler | undefined;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'restart-serve', pool: { mode: 'transaction', size: 4 } });
  paused = await createTenant(pg, { id: 'restart-paused', pool: { mode: 'transaction', size: 2, checkout_timeout: 120 } });
  const init = await pgbench(destinationConn(tenant), ['-i', '-s', '1', '-q']);
  expect(init.code, init.stderr).toBe(0);
  admin = await createAdminLogin(pg);
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-restart-'));
  pooler = await startWorkersPooler(poolerConfig([tenant.config, paused.config], { admin: { users: [admin.config] } }), dir, 2);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function nodeOfClient(c: PgClient): number {
  return nodeOf((c as unknown as { processID: number }).processID);
}

/** Connects until a client lands on worker `node` (closing the others). */
async function clientOn(t: TestTenant, node: number): Promise<PgClient> {
  for (let i = 0; i < MAX_CONNECTS; i++) {
    const c = await connectPg(poolerConn(pooler!, t));
    if (nodeOfClient(c) === node) {
      clients.push(c);
      return c;
    }
    await endQuietly(c);
  }
  throw new Error(`no connection landed on worker ${node} in ${MAX_CONNECTS} tries`);
}

/** The worker that was killed (1 or 2): the node of the client whose connection died. */
let dead = 0;

it('restarts a killed worker; the other worker and its clients go on', async () => {
  const byNode = new Map([
    [1, await clientOn(tenant, 1)],
    [2, await clientOn(tenant, 2)],
  ]);
  const r = await pgbench(poolerConn(pooler!, tenant), ['-n', '-S', '-c', '4', '-j', '2', '-t', '50']);
  expect(r.code, r.stderr).toBe(0);
  // This scrape is what the supervisor keeps of a worker that dies.
  const before = await scrape(pooler!.metricsPort);
  const txBefore = valueOf(before, 'switchyard_transactions_total', { tenant: tenant.id });
  expect(valueOf(before, 'switchyard_worker_restarts_total')).toBe(0);
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect((await adm.query('PAUSE restart-paused')).command).toBe('PAUSE');

  const pids = pooler!.workerPids();
  expect(pids).toHaveLength(2);
  const victim = pids[0]!;
  process.kill(victim, 'SIGKILL');

  // Exactly one of the two clients was on the killed worker: its connection is gone.
  const outcomes = await within(
    Promise.allSettled([1, 2].map((node) => byNode.get(node)!.query('SELECT 1'))),
    HANG_MS,
    'the queries after the kill to settle',
  );
  const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i + 1] : []));
  expect(failed).toHaveLength(1);
  dead = failed[0]!;
  const survivor = byNode.get(3 - dead)!;
  expect((await survivor.query<{ v: number }>('SELECT $1::int AS v', [1])).rows).toEqual([{ v: 1 }]);

  await until(
    async () => pooler!.workerPids().length === 2 && !pooler!.workerPids().includes(victim) && (await readyz(pooler!.metricsPort)) === 200,
    HANG_MS,
    'a new worker to serve in the dead one\'s slot',
  );
  const after = await scrape(pooler!.metricsPort);
  expect(valueOf(after, 'switchyard_worker_restarts_total')).toBe(1);
  expect(valueOf(after, 'switchyard_workers', { state: 'ready' })).toBe(2);
  // Counters keep what the dead worker had counted (as of the last scrape): no decrease.
  expect(valueOf(after, 'switchyard_transactions_total', { tenant: tenant.id })).toBeGreaterThanOrEqual(txBefore);

  // The new worker has the dead one's node id and serves; the survivor's client is still fine.
  const again = await clientOn(tenant, dead);
  expect((await again.query<{ v: number }>('SELECT $1::int AS v', [2])).rows).toEqual([{ v: 2 }]);
  expect((await survivor.query<{ v: number }>('SELECT $1::int AS v', [3])).rows).toEqual([{ v: 3 }]);
});

it('the new worker starts paused where the machine is paused, until RESUME', async () => {
  expect(dead).toBeGreaterThan(0);
  const c = await clientOn(paused, dead);
  let done = false;
  const q = c.query<{ v: number }>('SELECT 5 AS v').then((r) => {
    done = true;
    return r;
  });
  await until(
    async () =>
      (await adminRows(pooler!, admin, 'SHOW CLIENTS')).some((row) => row.database === paused.id && workerOf(row.ptr) === dead && row.state === 'waiting'),
    HANG_MS,
    "the restarted worker's client to queue behind the pause",
  );
  expect(done).toBe(false);
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  expect((await adm.query('RESUME')).command).toBe('RESUME');
  expect((await within(q, HANG_MS, 'the queued query after RESUME')).rows).toEqual([{ v: 5 }]);
  expect(clientsPerWorker(await adminRows(pooler!, admin, 'SHOW CLIENTS'), paused.id).get(dead)).toBe(1);
});

