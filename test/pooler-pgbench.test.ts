// pgbench through the pooler, simple and extended query protocol (-M extended uses the unnamed
// statement). The pgbench tables are created directly on PostgreSQL; the run goes through the
// pooler with 20 clients on 4 server connections and must finish with every transaction done and
// none failed. Session mode is run with -C (a new connection per transaction) so the 20 clients
// take turns on the 4 server connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, pgbench, type PgbenchResult } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let txn: TestTenant;
let session: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  txn = await createTenant(pg, { id: 'bench-txn', pool: { mode: 'transaction', size: 4 } });
  session = await createTenant(pg, { id: 'bench-session', pool: { mode: 'session', size: 4, checkout_timeout: 60 } });
  for (const t of [txn, session]) {
    const init = await pgbench(destinationConn(t), ['-i', '-s', '1', '-q']);
    expect(init.code, init.stderr).toBe(0);
  }
  pooler = await startPooler(poolerConfig([txn.config, session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

async function historyCount(t: TestTenant): Promise<number> {
  const c = await connectPg(destinationConn(t));
  try {
    const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_history');
    return r.rows[0]?.n ?? -1;
  } finally {
    await c.end();
  }
}

function expectClean(r: PgbenchResult, transactions: number): void {
  // On failure, show pgbench's own account of what went wrong.
  const why = `exit ${r.code}\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-1000)}`;
  expect(r.code, why).toBe(0);
  expect(r.processed, why).toBe(transactions);
  expect(r.expected, why).toBe(transactions);
  expect(r.failed ?? 0, why).toBe(0);
  expect(r.stderr, why).not.toMatch(/error|FATAL|aborted/i);
}

describe.each(['simple', 'extended'] as const)('pgbench -M %s', (protocol) => {
  it('runs 20 clients x 200 transactions in transaction mode on 4 server connections', async () => {
    const before = await historyCount(txn);
    const r = await pgbench(poolerConn(pooler!, txn), ['-n', '-c', '20', '-j', '2', '-t', '200', '-M', protocol]);
    expectClean(r, 4000);
    // Every TPC-B-like transaction inserts one history row: all 4000 really committed.
    expect(await historyCount(txn)).toBe(before + 4000);
  });

  it('runs 20 clients connecting per transaction (-C) in session mode on 4 server connections', async () => {
    const before = await historyCount(session);
    const r = await pgbench(poolerConn(pooler!, session), ['-n', '-C', '-c', '20', '-j', '2', '-t', '25', '-M', protocol]);
    expectClean(r, 500);
    expect(await historyCount(session)).toBe(before + 500);
  });
});
