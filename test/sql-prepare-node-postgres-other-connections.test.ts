// SQL PREPARE / EXECUTE from node-postgres in transaction mode: a statement prepared in one
// transaction is executed in later ones, and each execution lands on the server connection the
// pool gives it — here alternately on both of a pool of two, forced by a second client holding
// one of them. The statement reports its backend's pid: the test sees it run on both.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'sqlprep-pg', pool: { mode: 'transaction', size: 2 } });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it('node-postgres: PREPARE once, EXECUTE on both server connections of the pool, in and out of transaction blocks', async () => {
  const subject = await connectPg(poolerConn(pooler!, tenant));
  const holder = await connectPg(poolerConn(pooler!, tenant));
  try {
    await subject.query('PREPARE twice(int) AS SELECT $1 * 2 AS v, pg_backend_pid() AS pid');
    const pids = new Set<number>();
    for (let round = 0; round < 8; round++) {
      // Odd rounds: the holder keeps one server connection inside a transaction, so the EXECUTE
      // runs on the other one (the pool hands out the most recently released connection first).
      if (round % 2 === 1) await holder.query('BEGIN; SELECT 1');
      const inBlock = round % 4 === 3;
      if (inBlock) await subject.query('BEGIN');
      const r = await subject.query<{ v: number; pid: number }>(`EXECUTE twice(${round})`);
      if (inBlock) await subject.query('COMMIT');
      expect(r.rows.map((x) => x.v)).toEqual([round * 2]);
      pids.add(r.rows[0]!.pid);
      if (round % 2 === 1) await holder.query('COMMIT');
    }
    expect(pids.size).toBe(2);
    const again = await subject.query<{ v: number }>('EXECUTE twice(21)');
    expect(again.rows[0]!.v).toBe(42);
  } finally {
    await endQuietly(subject);
    await endQuietly(holder);
  }
}, 60_000);
