// Transaction and query times through a real pooler to real PostgreSQL (stats/latency.ts): clients
// run pg_sleep of known length (simple queries, an explicit transaction, named prepared
// statements; in transaction and session mode), and the histograms on /metrics and SHOW STATS'
// *_xact_time / *_query_time move by at least that much, with exact counts. A client that queued
// behind another's transaction is timed from when it got its server connection (the wait has its
// own histogram). Bounds only: no timing asserts beyond "at least the sleep" and generous ceilings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminRows, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { scrape, valueOf, valueOr, type Exposition } from './helpers/metrics.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const SLEEP = 0.2;
const HANG_MS = 30_000;
/** A ceiling far above any plausible overhead on a loaded machine: only catches nonsense (ms as s). */
const SLACK_S = 20;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let admin: AdminLogin;
const tenants: Record<'transaction' | 'session' | 'queued', TestTenant> = {} as never;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'latency-txn', pool: { mode: 'transaction', size: 1 } });
  tenants.session = await createTenant(pg, { id: 'latency-session', pool: { mode: 'session', size: 2 } });
  tenants.queued = await createTenant(pg, { id: 'latency-queued', pool: { mode: 'transaction', size: 1, checkout_timeout: 120 } });
  admin = await createAdminLogin(pg);
  const config = poolerConfig([tenants.transaction.config, tenants.session.config, tenants.queued.config], {
    admin: { users: [admin.config] },
    metrics: { host: '127.0.0.1', port: 0 },
  });
  pooler = await startPooler(config, { logger: testLogger() });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => endQuietly(c)));
  await pooler?.close();
  await pg?.stop();
});

async function client(t: TestTenant): Promise<PgClient> {
  const c = await connectPg(poolerConn(pooler!, t));
  clients.push(c);
  return c;
}

function bucket(e: Exposition, name: string, tenant: string, le: string): number {
  return valueOr(e, `${name}_bucket`, { tenant, le }, 0);
}

/**
 * Three autocommit sleeps, one explicit transaction of two sleeps, two executions of a named
 * prepared statement that sleeps: 6 transactions and 9 queries, 7 of which sleep (at least 7 × SLEEP in all).
 */
async function sleepyWorkload(c: PgClient): Promise<void> {
  for (let i = 0; i < 3; i++) await c.query(`SELECT pg_sleep(${SLEEP})`);
  await c.query('BEGIN');
  await c.query(`SELECT pg_sleep(${SLEEP})`);
  await c.query(`SELECT pg_sleep(${SLEEP})`);
  await c.query('COMMIT');
  for (let i = 0; i < 2; i++) await c.query({ name: 'sleeper', text: 'SELECT pg_sleep($1)', values: [SLEEP] });
}

describe.each(['transaction', 'session'] as const)('%s mode', (mode) => {
  it('times every transaction and query: exact counts, sums of at least the sleeps', async () => {
    const t = tenants[mode];
    const c = await client(t);
    await sleepyWorkload(c);
    const e = await scrape(pooler!.metricsPort);
    const tenant = { tenant: t.id };
    expect(e.types.get('switchyard_transaction_duration_seconds')).toBe('histogram');
    expect(e.types.get('switchyard_query_duration_seconds')).toBe('histogram');

    expect(valueOf(e, 'switchyard_transaction_duration_seconds_count', tenant)).toBe(6);
    const xactSum = valueOf(e, 'switchyard_transaction_duration_seconds_sum', tenant);
    expect(xactSum).toBeGreaterThanOrEqual(7 * SLEEP);
    expect(xactSum).toBeLessThan(7 * SLEEP + SLACK_S);
    // Every transaction slept: none is in a bucket below the sleep; +Inf holds them all.
    expect(bucket(e, 'switchyard_transaction_duration_seconds', t.id, '0.1')).toBe(0);
    expect(bucket(e, 'switchyard_transaction_duration_seconds', t.id, '+Inf')).toBe(6);

    expect(valueOf(e, 'switchyard_query_duration_seconds_count', tenant)).toBe(9);
    const querySum = valueOf(e, 'switchyard_query_duration_seconds_sum', tenant);
    expect(querySum).toBeGreaterThanOrEqual(7 * SLEEP);
    expect(querySum).toBeLessThan(7 * SLEEP + SLACK_S);
    // Only BEGIN and COMMIT can be below the sleep.
    expect(bucket(e, 'switchyard_query_duration_seconds', t.id, '0.1')).toBeLessThanOrEqual(2);
    // Each transaction spans its queries (and the think time between them): never less in all.
    expect(xactSum).toBeGreaterThanOrEqual(querySum - 1e-6);

    const stats = (await adminRows(pooler!, admin, 'SHOW STATS')).find((r) => r.database === t.id)!;
    expect(Number(stats.total_query_count)).toBe(9);
    expect(Number(stats.total_xact_count)).toBe(6);
    // PgBouncer's unit: microseconds.
    expect(Number(stats.total_xact_time)).toBeGreaterThanOrEqual(7 * SLEEP * 1e6);
    expect(Number(stats.total_xact_time)).toBeLessThan((7 * SLEEP + SLACK_S) * 1e6);
    expect(Number(stats.total_query_time)).toBeGreaterThanOrEqual(7 * SLEEP * 1e6);
    expect(Number(stats.total_query_time)).toBeLessThan((7 * SLEEP + SLACK_S) * 1e6);
    const totals = (await adminRows(pooler!, admin, 'SHOW STATS_TOTALS')).find((r) => r.database === t.id)!;
    expect(Number(totals.xact_time)).toBeGreaterThanOrEqual(7 * SLEEP * 1e6);
    expect(Number(totals.query_time)).toBeGreaterThanOrEqual(7 * SLEEP * 1e6);
  });

  it('SHOW STATEMENTS lists the normalized texts by total time, with their calls', async () => {
    const t = tenants[mode];
    const c = await client(t);
    for (let i = 0; i < 5; i++) await c.query(`SELECT ${i} AS instant`);
    for (let i = 0; i < 3; i++) await c.query(`SELECT pg_sleep(0.0${i + 1}) AS quick`);
    for (let i = 0; i < 2; i++) await c.query('SELECT pg_sleep($1) AS slow', [0.3]); // a Parse, extended protocol
    const rows = (await adminRows(pooler!, admin, 'SHOW STATEMENTS')).filter((r) => r.database === t.id);
    const mine = rows.filter((r) => /AS (instant|quick|slow)$/.test(String(r.query)));
    expect(mine.map((r) => [r.query, Number(r.calls)])).toEqual([
      ['SELECT pg_sleep($1) AS slow', 2],
      ['SELECT pg_sleep(?) AS quick', 3],
      ['SELECT ? AS instant', 5],
    ]);
    const slow = mine[0]!;
    expect(Number(slow.total_time)).toBeGreaterThanOrEqual(0.6e6);
    expect(Number(slow.max_time)).toBeGreaterThanOrEqual(0.3e6);
    expect(Number(slow.avg_time)).toBeGreaterThanOrEqual(0.3e6);
    // The whole list is in order of total time.
    const totals = rows.map((r) => Number(r.total_time));
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
  });
});

it('does not count the checkout wait as transaction time: that is the wait histogram', async () => {
  const t = tenants.queued;
  const holder = await client(t);
  const queued = await client(t);
  const HOLD = 2;
  await holder.query('BEGIN');
  const held = holder.query(`SELECT pg_sleep(${HOLD})`).then(() => holder.query('COMMIT'));
  // The pool's one server connection is the holder's until COMMIT: this client queues.
  const quick = queued.query('SELECT 1');
  await Promise.all([held, quick]);
  await until(async () => valueOr(await scrape(pooler!.metricsPort), 'switchyard_transaction_duration_seconds_count', { tenant: t.id }, 0) === 2, HANG_MS, 'both transactions timed');
  const e = await scrape(pooler!.metricsPort);
  // The queued client waited for most of HOLD seconds ...
  expect(valueOf(e, 'switchyard_pool_checkout_wait_seconds_count', { tenant: t.id })).toBe(1);
  expect(valueOf(e, 'switchyard_pool_checkout_wait_seconds_sum', { tenant: t.id })).toBeGreaterThan(0.5);
  // ... but its transaction (SELECT 1) took well under a second once it had the connection, while
  // the holder's took at least HOLD seconds.
  expect(bucket(e, 'switchyard_transaction_duration_seconds', t.id, '1')).toBe(1);
  expect(valueOf(e, 'switchyard_transaction_duration_seconds_sum', { tenant: t.id })).toBeGreaterThanOrEqual(HOLD);
  expect(valueOf(e, 'switchyard_transaction_duration_seconds_sum', { tenant: t.id })).toBeLessThan(HOLD + 1 + SLACK_S);
});
