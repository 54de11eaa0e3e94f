// /metrics after real traffic: pgbench (8 clients on 2 server connections) through the pooler,
// then a scrape parsed as Prometheus text. Transactions, bytes, pool gauges, the checkout-wait
// histogram (a client queued behind an open transaction), disconnects by reason, reloads and the
// config version are all there with the right types, and agree with the admin console's SHOW STATS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectAdmin, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, pgbench, until, within, type PgClient } from './helpers/clients.ts';
import { httpGet, scrape, valueOf, valueOr } from './helpers/metrics.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;
const CLIENTS = 8;
const PER_CLIENT = 50;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let bench: TestTenant;
let queue: TestTenant;
let admin: AdminLogin;
let config: ReturnType<typeof poolerConfig>;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  bench = await createTenant(pg, { id: 'metrics-bench', pool: { mode: 'transaction', size: 2 } });
  queue = await createTenant(pg, { id: 'metrics-queue', pool: { mode: 'transaction', size: 1, checkout_timeout: 120 } });
  const init = await pgbench(destinationConn(bench), ['-i', '-s', '1', '-q']);
  expect(init.code, init.stderr).toBe(0);
  admin = await createAdminLogin(pg);
  config = poolerConfig([bench.config, queue.config], { admin: { users: [admin.config] }, metrics: { host: '127.0.0.1', port: 0 } });
  pooler = await startPooler(config, { logger: testLogger() });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.close();
  await pg?.stop();
});

it('serves /healthz and /metrics on its own port', async () => {
  expect(pooler!.metricsPort).toBeGreaterThan(0);
  expect(pooler!.metricsPort).not.toBe(pooler!.port);
  expect((await httpGet(pooler!.metricsPort, '/healthz')).status).toBe(200);
  const m = await httpGet(pooler!.metricsPort, '/metrics');
  expect(m.status).toBe(200);
  expect(m.contentType).toContain('text/plain');
  expect((await httpGet(pooler!.metricsPort, '/nope')).status).toBe(404);
});

it('counts pgbench traffic per tenant and reports the pool', async () => {
  const r = await pgbench(poolerConn(pooler!, bench), ['-n', '-S', '-c', String(CLIENTS), '-j', '2', '-t', String(PER_CLIENT)]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.processed).toBe(CLIENTS * PER_CLIENT);

  // pgbench can exit before its last server connection is back in the pool: a connection a client
  // used is reset (DISCARD ALL, backend/reset.ts) after the client has its reply. Wait for that.
  await until(async () => valueOf(await scrape(pooler!.metricsPort), 'switchyard_pool_servers', { tenant: bench.id, state: 'active' }) === 0, HANG_MS, 'the last server connection back in the pool');
  const e = await scrape(pooler!.metricsPort);
  const tenant = { tenant: bench.id };
  expect(e.types.get('switchyard_transactions_total')).toBe('counter');
  expect(e.types.get('switchyard_pool_servers')).toBe('gauge');
  expect(e.types.get('switchyard_pool_checkout_wait_seconds')).toBe('histogram');
  // Every pgbench transaction, plus the few statements pgbench runs on connecting.
  expect(valueOf(e, 'switchyard_transactions_total', tenant)).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);
  expect(valueOf(e, 'switchyard_queries_total', tenant)).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);
  expect(valueOf(e, 'switchyard_client_received_bytes_total', tenant)).toBeGreaterThan(0);
  expect(valueOf(e, 'switchyard_client_sent_bytes_total', tenant)).toBeGreaterThan(0);
  expect(valueOf(e, 'switchyard_pool_size', tenant)).toBe(2);
  // pgbench has gone: no client left, server connections idle (at most the pool size).
  expect(valueOf(e, 'switchyard_pool_clients', { ...tenant, state: 'active' })).toBe(0);
  expect(valueOf(e, 'switchyard_pool_clients', { ...tenant, state: 'waiting' })).toBe(0);
  expect(valueOf(e, 'switchyard_pool_servers', { ...tenant, state: 'active' })).toBe(0);
  const idle = valueOf(e, 'switchyard_pool_servers', { ...tenant, state: 'idle' });
  expect(idle).toBeGreaterThan(0);
  expect(idle).toBeLessThanOrEqual(2);
  expect(valueOf(e, 'switchyard_pool_checkouts_total', tenant)).toBeGreaterThanOrEqual(CLIENTS * PER_CLIENT);
  // pgbench ends each connection with Terminate.
  expect(valueOf(e, 'switchyard_client_disconnects_total', { reason: 'client_terminate' })).toBeGreaterThanOrEqual(CLIENTS);
  expect(valueOf(e, 'switchyard_config_version')).toBe(1);
  expect(valueOf(e, 'switchyard_draining')).toBe(0);
  expect(e.samples.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);

  // The admin console reads the same totals.
  const adm = await connectAdmin(pooler!, admin);
  clients.push(adm);
  const stats = (await adm.query<{ database: string; total_xact_count: string; total_received: string }>('SHOW STATS')).rows.find((s) => s.database === bench.id);
  expect(Number(stats?.total_xact_count)).toBe(valueOf(e, 'switchyard_transactions_total', tenant));
  expect(Number(stats?.total_received)).toBe(valueOf(e, 'switchyard_client_received_bytes_total', tenant));
});

it('observes a queued checkout in the wait histogram', async () => {
  const holder = await connectPg(poolerConn(pooler!, queue));
  const waiter = await connectPg(poolerConn(pooler!, queue));
  clients.push(holder, waiter);
  const before = await scrape(pooler!.metricsPort);
  const countBefore = valueOr(before, 'switchyard_pool_checkout_wait_seconds_count', { tenant: queue.id }, 0);

  await holder.query('BEGIN');
  await holder.query('SELECT 1');
  const queued = waiter.query('SELECT 2');
  await until(
    async () => valueOf(await scrape(pooler!.metricsPort), 'switchyard_pool_clients', { tenant: queue.id, state: 'waiting' }) === 1,
    HANG_MS,
    'the second client to queue',
  );
  await holder.query('COMMIT');
  await within(queued, HANG_MS, 'the queued query');

  const after = await scrape(pooler!.metricsPort);
  expect(valueOf(after, 'switchyard_pool_checkout_wait_seconds_count', { tenant: queue.id })).toBe(countBefore + 1);
  expect(valueOf(after, 'switchyard_pool_checkout_wait_seconds_sum', { tenant: queue.id })).toBeGreaterThan(0);
  expect(valueOf(after, 'switchyard_pool_checkout_wait_seconds_bucket', { tenant: queue.id, le: '+Inf' })).toBe(countBefore + 1);
});

it('counts reloads and follows the config version', async () => {
  pooler!.reload(config);
  const e = await scrape(pooler!.metricsPort);
  expect(valueOf(e, 'switchyard_reloads_total')).toBe(1);
  expect(valueOf(e, 'switchyard_config_version')).toBe(2);
});
