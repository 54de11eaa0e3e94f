// One /metrics for a machine running `--workers 2`: a single scrape of the supervisor's endpoint
// covers both workers — client gauges and traffic counters are the sums over the workers (they
// agree with the console's merged SHOW POOLS / SHOW STATS), the histogram merges, the workers are
// counted by state — and /readyz is 200 only while every worker serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeOf } from '../pooler/src/frontend/cancel-keys.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgbench, type PgClient } from './helpers/clients.ts';
import { httpGet, scrape, valueOf } from './helpers/metrics.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';
import { clientsPerWorker, startWorkersPooler, type WorkersPooler } from './helpers/workers.ts';

const CLIENTS = 20;
const PER_CLIENT = 50;

let pg: PostgresServer;
let tenant: TestTenant;
let admin: AdminLogin;
let dir: string;
let pooler: WorkersPooler | undefined;
const held: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'wmetrics', pool: { mode: 'transaction', size: 4 } });
  const init = await pgbench(destinationConn(tenant), ['-i', '-s', '1', '-q']);
  expect(init.code, init.stderr).toBe(0);
  admin = await createAdminLogin(pg);
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-metrics-'));
  pooler = await startWorkersPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), dir, 2);
});

afterAll(async () => {
  await Promise.all(held.map((c) => endQuietly(c)));
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('serves /healthz, /readyz and /metrics for the machine', async () => {
  expect((await httpGet(pooler!.metricsPort, '/healthz')).status).toBe(200);
  expect((await httpGet(pooler!.metricsPort, '/readyz')).status).toBe(200);
  const e = await scrape(pooler!.metricsPort);
  expect(valueOf(e, 'switchyard_workers', { state: 'ready' })).toBe(2);
  expect(valueOf(e, 'switchyard_workers', { state: 'starting' })).toBe(0);
  expect(valueOf(e, 'switchyard_worker_restarts_total')).toBe(0);
  // Not summed over the workers: the machine is drained or not, paused or not, at one version.
  expect(valueOf(e, 'switchyard_draining')).toBe(0);
  expect(valueOf(e, 'switchyard_config_version')).toBe(1);
});

it('one scrape counts the clients and the traffic of both workers', async () => {
  const r = await pgbench(poolerConn(pooler!, tenant), ['-n', '-S', '-c', String(CLIENTS), '-j', '2', '-t', String(PER_CLIENT)]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.processed).toBe(CLIENTS * PER_CLIENT);

  // Clients held open on both workers.
  for (let i = 0; i < CLIENTS; i++) held.push(await connectPg(poolerConn(pooler!, tenant)));
  const nodes = new Set(held.map((c) => nodeOf((c as unknown as { processID: number }).processID)));
  expect([...nodes].sort()).toEqual([1, 2]);
  const perWorker = clientsPerWorker(await adminRows(pooler!, admin, 'SHOW CLIENTS'), tenant.id);
  expect(perWorker.get(1)! + perWorker.get(2)!).toBe(CLIENTS);

  const e = await scrape(pooler!.metricsPort);
  const t = { tenant: tenant.id };
  // Each worker holds only its share of the clients: the scrape has them all.
  expect(valueOf(e, 'switchyard_pool_clients', { ...t, state: 'active' }) + valueOf(e, 'switchyard_pool_clients', { ...t, state: 'waiting' })).toBe(CLIENTS);
  const transactions = valueOf(e, 'switchyard_transactions_total', t);
  expect(transactions).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);
  // Each worker's pool has its share of pool.size (2 + 2): the machine's is the configured 4.
  expect(valueOf(e, 'switchyard_pool_size', t)).toBe(4);
  expect(valueOf(e, 'switchyard_pool_checkouts_total', t)).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);
  expect(valueOf(e, 'switchyard_client_disconnects_total', { reason: 'client_terminate' })).toBeGreaterThanOrEqual(CLIENTS);
  expect(e.types.get('switchyard_pool_checkout_wait_seconds')).toBe('histogram');
  expect(e.samples.some((s) => s.name === 'switchyard_pool_checkout_wait_seconds_bucket' && s.labels.le === '+Inf')).toBe(true);
  expect(e.samples.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);
  // Transaction and query times (stats/latency.ts): both workers' buckets summed, one series per tenant.
  expect(e.types.get('switchyard_transaction_duration_seconds')).toBe('histogram');
  const timed = valueOf(e, 'switchyard_transaction_duration_seconds_count', t);
  expect(timed).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);
  expect(valueOf(e, 'switchyard_transaction_duration_seconds_bucket', { ...t, le: '+Inf' })).toBe(timed);
  expect(valueOf(e, 'switchyard_query_duration_seconds_count', t)).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);

  // The console's merged view agrees.
  const stats = (await adminRows(pooler!, admin, 'SHOW STATS')).find((s) => s.database === tenant.id);
  expect(Number(stats?.total_xact_count)).toBe(transactions);
  expect(Number(stats?.total_query_count)).toBe(valueOf(e, 'switchyard_query_duration_seconds_count', t));
  expect(Number(stats?.total_xact_time)).toBeGreaterThan(0);
  expect(Number(stats?.total_received)).toBe(valueOf(e, 'switchyard_client_received_bytes_total', t));
  const pools = (await adminRows(pooler!, admin, 'SHOW POOLS')).find((p) => p.database === tenant.id);
  expect(Number(pools?.cl_active) + Number(pools?.cl_waiting)).toBe(CLIENTS);
});
