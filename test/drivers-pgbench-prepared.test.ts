// `pgbench -M prepared` through the pooler: every pgbench client prepares the script's statements
// by name once (P_0, P_1, … — the same names and texts on every client) and then only binds them.
// Through PgBouncer 1.18 in transaction mode this fails ("prepared statement P_0 does not exist" /
// "already exists"), because clients land on server connections their statements are not on.
// In transaction mode, 12 clients on 3 server connections must finish every transaction with no
// error: the TPC-B-like script (BEGIN … END with updates, a select and an insert) and the
// select-only one (-S), plus a custom script with several parameterised statements. Session mode
// (with -C: a new connection per transaction, so clients take turns) runs the same as reference.
//
// One pgbench thread per client (-j = -c): pgbench prepares each statement with a synchronous
// PQprepare (Parse + Sync, waiting for the reply) that blocks its whole thread. With several
// clients per thread, a client whose Parse waits for a free server connection blocks the other
// clients of its thread, which hold the server connections inside their transactions: a
// client-side deadlock with any pooler that needs a server connection to answer Parse + Sync.
// That is pgbench's limitation, not what this test is about.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, pgbench, type PgbenchResult } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const CLIENTS = 12;
const TX_PER_CLIENT = 100;
const TIMEOUT_MS = 180_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let dir: string;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'pgbprep-txn', pool: { mode: 'transaction', size: 3 } });
  tenants.session = await createTenant(pg, { id: 'pgbprep-session', pool: { mode: 'session', size: 3, checkout_timeout: 60 } });
  for (const t of Object.values(tenants)) {
    const init = await pgbench(destinationConn(t), ['-i', '-s', '1', '-q']);
    expect(init.code, init.stderr).toBe(0);
  }
  dir = mkdtempSync(join(tmpdir(), 'switchyard-pgbench-'));
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function historyCount(t: TestTenant): Promise<number> {
  const c = await connectPg(destinationConn(t));
  try {
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_history')).rows[0]?.n ?? -1;
  } finally {
    await c.end();
  }
}

function expectClean(r: PgbenchResult, transactions: number): void {
  const why = `exit ${r.code}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1500)}`;
  expect(r.code, why).toBe(0);
  expect(r.processed, why).toBe(transactions);
  expect(r.expected, why).toBe(transactions);
  expect(r.failed ?? 0, why).toBe(0);
  expect(r.stderr, why).not.toMatch(/error|FATAL|aborted/i);
}

/** -C (reconnect per transaction) in session mode, so 12 clients share 3 server connections. */
const args = (mode: Mode): string[] => ['-n', '-M', 'prepared', '-c', String(CLIENTS), '-j', String(CLIENTS), '-t', String(mode === 'session' ? 20 : TX_PER_CLIENT), ...(mode === 'session' ? ['-C'] : [])];
const total = (mode: Mode): number => CLIENTS * (mode === 'session' ? 20 : TX_PER_CLIENT);

describe.each(MODES)('pgbench -M prepared (%s mode)', (mode) => {
  it('TPC-B-like: exit 0, every transaction committed, no errors', async () => {
    const t = tenants[mode];
    const before = await historyCount(t);
    const r = await pgbench(poolerConn(pooler!, t), args(mode));
    expectClean(r, total(mode));
    expect(await historyCount(t)).toBe(before + total(mode));
  }, TIMEOUT_MS);

  it('select-only (-S): exit 0, no errors', async () => {
    const r = await pgbench(poolerConn(pooler!, tenants[mode]), [...args(mode), '-S']);
    expectClean(r, total(mode));
  }, TIMEOUT_MS);

  it('a custom script with several parameterised statements: exit 0, no errors', async () => {
    const script = join(dir, `custom-${mode}.sql`);
    writeFileSync(
      script,
      [
        '\\set aid random(1, 100000)',
        '\\set delta random(-5000, 5000)',
        'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;',
        'BEGIN;',
        'UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;',
        'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;',
        'SELECT :aid::int + :delta::int AS s, :client_id::int AS c;',
        'END;',
        '',
      ].join('\n'),
    );
    const r = await pgbench(poolerConn(pooler!, tenants[mode]), [...args(mode), '-f', script]);
    expectClean(r, total(mode));
  }, TIMEOUT_MS);
});
