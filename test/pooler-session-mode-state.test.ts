// Session mode: a client keeps one server connection for its whole session, so session state
// (SET, temp tables, the backend itself) survives across its queries; and when it leaves, the
// connection is cleaned (DISCARD ALL) before the next client gets it, so no state leaks between
// clients. Six clients share two server connections.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { backgroundErrorsOf, connectPg, endQuietly, sleep, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'session-state', pool: { mode: 'session', size: 2, checkout_timeout: 60 } });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it('keeps SET, temp tables and the backend for a session, and leaks none of it to the next client', async () => {
  const clients: PgClient[] = [];
  const pidsSeen: number[] = [];
  try {
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const client = await connectPg(poolerConn(pooler!, tenant));
        clients.push(client);
        // A fresh session: no SET and no temp table from whoever used this server connection before.
        const fresh = await client.query<{ statement_timeout: string }>('SHOW statement_timeout');
        expect(fresh.rows[0]?.statement_timeout).toBe('0');
        const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        pidsSeen.push(pid ?? -1);
        await client.query(`SET statement_timeout = '${1001 + i}ms'`);
        // Fails with 42P07 if a previous client's temp table survived on this server connection.
        await client.query('CREATE TEMP TABLE session_tmp (x int)');
        await client.query('INSERT INTO session_tmp VALUES ($1)', [i]);
        for (let q = 0; q < 5; q++) {
          await sleep(5);
          const s = await client.query<{ statement_timeout: string }>('SHOW statement_timeout');
          expect(s.rows[0]?.statement_timeout).toBe(`${1001 + i}ms`);
          const tmp = await client.query<{ x: number }>('SELECT x FROM session_tmp');
          expect(tmp.rows).toEqual([{ x: i }]);
          const again = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          expect(again.rows[0]?.pid).toBe(pid);
        }
        expect(backgroundErrorsOf(client)).toEqual([]);
        await client.end();
      }),
    );
    // Six sessions went through at most two server connections (each reused, not replaced).
    expect(pidsSeen).toHaveLength(6);
    expect(new Set(pidsSeen).size).toBeLessThanOrEqual(2);
  } finally {
    await Promise.all(clients.map((c) => endQuietly(c)));
  }
});
