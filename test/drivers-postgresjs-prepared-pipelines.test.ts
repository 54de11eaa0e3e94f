// postgres.js with its defaults — every static query becomes a named prepared statement (Parse +
// Describe + Flush first when it has parameters, then Bind/Execute/Sync), and queries issued
// concurrently on one connection are pipelined — through the pooler: 5 postgres.js instances with
// up to 4 connections each (20 client connections) on 3 server connections in transaction mode.
// Each instance runs concurrent queries outside transactions and pipelined queries inside
// sql.begin (concurrent awaits and the array form), and every result is checked; the committed
// rows must be exactly the ones each instance committed. Session mode runs the same workload with a
// server connection per client connection.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, within } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type ConnSettings, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const INSTANCES = 5;
const MAX_PER_INSTANCE = 4;
const POOL_SIZE = 3;
const ROUNDS = 6;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'pjs-txn', pool: { mode: 'transaction', size: POOL_SIZE } });
  tenants.session = await createTenant(pg, { id: 'pjs-session', pool: { mode: 'session', size: INSTANCES * MAX_PER_INSTANCE } });
  for (const t of Object.values(tenants)) {
    const admin = await connectPg(destinationConn(t));
    await admin.query('CREATE TABLE ledger (inst int NOT NULL, round int NOT NULL, k int NOT NULL, v int NOT NULL)');
    await admin.end();
  }
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

function open(c: ConnSettings): postgres.Sql {
  return postgres({
    host: c.host,
    port: c.port,
    database: c.database,
    username: c.user,
    password: c.password,
    ssl: false,
    max: MAX_PER_INSTANCE,
    connect_timeout: 20,
    idle_timeout: 0,
    onnotice: () => undefined,
  });
}

async function instanceWork(sql: postgres.Sql, inst: number): Promise<{ n: number; total: number }> {
  let committed = { n: 0, total: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    // Outside transactions: 24 concurrent queries over up to 4 connections (pipelined per connection),
    // several statement shapes, each result tied to its arguments.
    const outside = await Promise.all(
      Array.from({ length: 24 }, (_, k) => {
        const x = inst * 1000 + round * 100 + k;
        switch (k % 3) {
          case 0:
            return sql<{ v: number; who: string }[]>`SELECT ${x}::int + 1 AS v, ${'inst-' + inst}::text AS who`.then((r) => [r[0]?.v, r[0]?.who]);
          case 1:
            return sql<{ s: string }[]>`SELECT ${String(x)}::text || '-' || ${k}::int AS s`.then((r) => [r[0]?.s]);
          default:
            return sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ledger WHERE inst = ${inst}`.then((r) => [r[0]?.n]);
        }
      }),
    );
    outside.forEach((got, k) => {
      const x = inst * 1000 + round * 100 + k;
      if (k % 3 === 0) expect(got).toEqual([x + 1, `inst-${inst}`]);
      else if (k % 3 === 1) expect(got).toEqual([`${x}-${k}`]);
      else expect(got).toEqual([committed.n]);
    });

    // Inside a transaction: concurrent awaits on the reserved connection are pipelined.
    const rollback = round % 3 === 2;
    const tx = sql.begin(async (tsql) => {
      const inserted = await Promise.all(
        Array.from({ length: 5 }, (_, k) => tsql<{ v: number }[]>`INSERT INTO ledger (inst, round, k, v) VALUES (${inst}, ${round}, ${k}, ${inst + round + k}) RETURNING v`),
      );
      expect(inserted.map((r) => r[0]?.v)).toEqual([0, 1, 2, 3, 4].map((k) => inst + round + k));
      // The array form: pipelined in one go.
      const [count, pid1, pid2] = await Promise.all([
        tsql<{ n: number; total: number }[]>`SELECT count(*)::int AS n, coalesce(sum(v), 0)::int AS total FROM ledger WHERE inst = ${inst}`,
        tsql<{ pid: number; x: string }[]>`SELECT pg_backend_pid() AS pid, txid_current()::text AS x`,
        tsql<{ pid: number; x: string }[]>`SELECT pg_backend_pid() AS pid, txid_current()::text AS x`,
      ]);
      const added = [0, 1, 2, 3, 4].reduce((s, k) => s + inst + round + k, 0);
      expect(count[0]).toEqual({ n: committed.n + 5, total: committed.total + added });
      expect(pid1[0]).toEqual(pid2[0]);
      if (rollback) throw new Rollback();
      return added;
    });
    if (rollback) {
      await expect(tx).rejects.toBeInstanceOf(Rollback);
    } else {
      const added = await tx;
      committed = { n: committed.n + 5, total: committed.total + added };
    }
    // The array form of sql.begin (postgres.js pipelines the returned queries).
    const arr = await sql.begin((tsql) => [tsql`SELECT ${inst}::int AS a`, tsql`SELECT ${round}::int AS b`, tsql`SELECT ${'x' + inst}::text AS c`]);
    expect(arr.map((r) => r[0])).toEqual([{ a: inst }, { b: round }, { c: `x${inst}` }]);
  }
  return committed;
}

class Rollback extends Error {}

describe.each(MODES)(`postgres.js, ${INSTANCES} instances × max ${MAX_PER_INSTANCE} (%s mode)`, (mode) => {
  it('prepared statements and pipelines: every result is the instance’s own', async () => {
    const t = tenants[mode];
    const sqls = Array.from({ length: INSTANCES }, () => open(poolerConn(pooler!, t)));
    try {
      const results = await within(Promise.allSettled(sqls.map((sql, inst) => instanceWork(sql, inst))), 120_000, 'the postgres.js workloads');
      const failures = results.flatMap((r, inst) => {
        if (r.status === 'fulfilled') return [];
        const e = r.reason as { code?: string; message?: string };
        return [`instance ${inst}: ${e.code ?? ''} ${e.message ?? String(r.reason)}`];
      });
      expect(failures, failures.join('\n')).toEqual([]);
      // The premise: postgres.js did use named prepared statements (on the server they show up in
      // pg_prepared_statements — the client's own in session mode, the pooler's in transaction mode).
      const prepared = await sqls[0]!.begin((tsql) => tsql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_prepared_statements`);
      expect(prepared[0]?.n).toBeGreaterThan(0);
      const admin = await connectPg(destinationConn(t));
      try {
        const rows = await admin.query<{ inst: number; n: number; total: number }>('SELECT inst, count(*)::int AS n, sum(v)::int AS total FROM ledger GROUP BY inst ORDER BY inst');
        expect(rows.rows).toEqual(results.map((r, inst) => ({ inst, ...(r.status === 'fulfilled' ? r.value : {}) })));
      } finally {
        await admin.end();
      }
    } finally {
      await Promise.all(sqls.map((sql) => sql.end({ timeout: 5 })));
    }
  });
});
