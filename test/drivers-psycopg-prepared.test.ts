// Python: psycopg 3 with prepare_threshold=0 (every query a named prepared statement, _pg3_N per connection), in 8 threads, through the pooler on 2 server connections in transaction mode. The
// workload (test/python/psycopg_workload.py) runs transactions that commit and roll back,
// per-connection query texts under statement names every connection uses, batched executes,
// and an error inside a transaction, checking every result; afterwards the rows in PostgreSQL
// must be exactly what each worker committed. Session mode (a server connection per client) is
// the reference run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg } from './helpers/clients.ts';
import { missingPythonModules, runPythonWorkload } from './helpers/python.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const WORKERS = 8;
const ROUNDS = 6;

interface WorkloadResult {
  committed: Record<string, [number, number]>;
  errors: { worker: number; type: string; sqlstate: string | null; message: string; trace?: string }[];
  checks: number;
  prepared_seen: number;
}

let pg: PostgresServer;
let pooler: Pooler | undefined;
let missing: string | undefined;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  missing = await missingPythonModules(['psycopg']);
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'psyco-txn', pool: { mode: 'transaction', size: 2 } });
  tenants.session = await createTenant(pg, { id: 'psyco-session', pool: { mode: 'session', size: WORKERS + 1 } });
  for (const t of Object.values(tenants)) {
    const admin = await connectPg(destinationConn(t));
    await admin.query('CREATE TABLE py_items (worker int NOT NULL, round int NOT NULL, v int NOT NULL)');
    await admin.end();
  }
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe.each(MODES)('psycopg (%s mode)', (mode) => {
  it(`${WORKERS} workers with named prepared statements get their own results`, async () => {
    expect(missing, missing).toBeUndefined();
    const t = tenants[mode];
    const r = await runPythonWorkload<WorkloadResult>('psycopg_workload.py', poolerConn(pooler!, t), { workers: WORKERS, rounds: ROUNDS });
    const why = `exit ${r.code}\n${JSON.stringify(r.result?.errors ?? [], null, 1).slice(0, 6000)}\nstderr: ${r.stderr.slice(-3000)}`;
    expect(r.result, why).toBeDefined();
    expect(r.result!.errors, why).toEqual([]);
    expect(r.code, why).toBe(0);
    // The premise: named statements were prepared on the server (the pooler's, in transaction mode).
    expect(r.result!.prepared_seen, why).toBeGreaterThan(0);
    expect(r.result!.checks).toBeGreaterThan(WORKERS * ROUNDS * 5);
    const admin = await connectPg(destinationConn(t));
    try {
      const rows = await admin.query<{ worker: number; n: number; total: number }>(
        'SELECT worker, count(*)::int AS n, sum(v)::int AS total FROM py_items GROUP BY worker ORDER BY worker',
      );
      const want = Array.from({ length: WORKERS }, (_, w) => {
        const [n, total] = r.result!.committed[String(w)] ?? [-1, -1];
        return { worker: w, n, total };
      });
      expect(rows.rows).toEqual(want);
    } finally {
      await admin.end();
    }
  });
});
