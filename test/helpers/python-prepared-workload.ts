// The Python driver test both drivers-asyncpg-prepared and drivers-psycopg-prepared run: the
// driver's workload script (test/python/<driver>_workload.py) with WORKERS concurrent connections
// using named prepared statements, through the pooler in session mode (the reference run) and in
// transaction mode on 2 server connections. Every result the script checks must be right, and
// afterwards the rows in PostgreSQL must be exactly what each worker committed.
import { beforeAll, describe, expect, it } from 'vitest';
import { connectPg } from './clients.ts';
import { MODES, poolerPerMode } from './pooler-per-mode.ts';
import { missingPythonModules, runPythonWorkload } from './python.ts';
import { destinationConn } from './tenants.ts';

const WORKERS = 8;
const ROUNDS = 6;

interface WorkloadResult {
  committed: Record<string, [number, number]>;
  errors: { worker: number; type: string; sqlstate: string | null; message: string; trace?: string }[];
  checks: number;
  prepared_seen: number;
}

/** Registers the set-up and one test per pool mode for `driver` (its Python module name). */
export function describePreparedWorkload(driver: 'asyncpg' | 'psycopg', tenantId: string): void {
  let missing: string | undefined;
  beforeAll(async () => {
    missing = await missingPythonModules([driver]);
  });
  const { tenants, pooled } = poolerPerMode(tenantId, { transaction: 2, session: WORKERS + 1 }, async (_pg, created) => {
    for (const t of Object.values(created)) {
      const admin = await connectPg(destinationConn(t));
      await admin.query('CREATE TABLE py_items (worker int NOT NULL, round int NOT NULL, v int NOT NULL)');
      await admin.end();
    }
  });

  describe.each(MODES)(`${driver} (%s mode)`, (mode) => {
    it(`${WORKERS} workers with named prepared statements get their own results`, async () => {
      expect(missing, missing).toBeUndefined();
      const t = tenants[mode];
      const r = await runPythonWorkload<WorkloadResult>(`${driver}_workload.py`, pooled(t), { workers: WORKERS, rounds: ROUNDS });
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
}
