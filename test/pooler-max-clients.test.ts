// pool.max_clients caps a tenant's client connections: with max_clients 2 the third login gets
// FATAL 53300 (too_many_connections); the first two are unaffected, other tenants are not counted
// against it, and a slot freed by a disconnect can be taken again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, psql, rejectionOf, until, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
type Mode = 'transaction' | 'session';

let pg: PostgresServer;
let pooler: Pooler | undefined;
const capped = {} as Record<Mode, TestTenant>;
let other: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  capped.transaction = await createTenant(pg, { id: 'capped-txn', pool: { mode: 'transaction', size: 1, max_clients: 2 } });
  capped.session = await createTenant(pg, { id: 'capped-session', pool: { mode: 'session', size: 2, max_clients: 2 } });
  other = await createTenant(pg, { id: 'uncapped', pool: { mode: 'transaction', size: 1 } });
  pooler = await startPooler(poolerConfig([capped.transaction.config, capped.session.config, other.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe.each(['transaction', 'session'] as const)('%s mode, max_clients 2', (mode) => {
  it('refuses the third client with FATAL 53300 and admits again after a disconnect', async () => {
    const t = capped[mode];
    const clients: PgClient[] = [];
    try {
      const first = await connectPg(poolerConn(pooler!, t));
      const second = await connectPg(poolerConn(pooler!, t));
      clients.push(first, second);

      const err = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, t))));
      console.info(`third client (${mode}): ${err.code} ${err.severity} ${err.message}`);
      expect(err).toMatchObject({ code: '53300', severity: 'FATAL' });
      expect(err.message).toMatch(/too many|max_clients|connections/i);

      // psql is refused the same way.
      const r = await psql(poolerConn(pooler!, t), 'SELECT 1;');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/FATAL/);

      // The admitted clients are unaffected; another tenant's clients do not count.
      for (const [i, c] of [first, second].entries()) expect((await c.query<{ v: number }>('SELECT $1::int AS v', [i])).rows).toEqual([{ v: i }]);
      const elsewhere = await connectPg(poolerConn(pooler!, other));
      clients.push(elsewhere);
      expect((await elsewhere.query<{ v: number }>('SELECT 1::int AS v')).rows).toEqual([{ v: 1 }]);

      // A disconnect frees a slot (the pooler notices the close asynchronously: retry briefly).
      await first.end();
      let third: PgClient | undefined;
      await until(
        async () => {
          third = await connectPg(poolerConn(pooler!, t)).catch((e: unknown) => {
            if (pgErrorInfo(e).code !== '53300') throw e;
            return undefined;
          });
          return third !== undefined;
        },
        10_000,
        'a freed client slot',
      );
      clients.push(third!);
      expect((await third!.query<{ v: number }>('SELECT 3::int AS v')).rows).toEqual([{ v: 3 }]);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
