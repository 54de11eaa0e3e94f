// node-postgres through the pooler: 30 concurrent clients on 3 server connections, each running
// transactions made of unnamed parameterised queries (extended protocol: Parse/Bind/Execute with
// the unnamed statement). Every statement of a transaction must reach the same backend, each client
// must see exactly its own uncommitted writes, and the committed totals must be right.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
type Mode = 'transaction' | 'session';

const CLIENTS = 30;
const POOL_SIZE = 3;
const ROUNDS = 8;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  for (const mode of ['transaction', 'session'] as const) {
    const t = await createTenant(pg, { id: `pg-${mode}`, pool: { mode, size: POOL_SIZE, checkout_timeout: 60 } });
    const admin = await connectPg(destinationConn(t));
    await admin.query('CREATE TABLE items (client int NOT NULL, round int NOT NULL, payload text NOT NULL)');
    await admin.end();
    tenants[mode] = t;
  }
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** One client's work: ROUNDS transactions, even rounds commit, odd rounds roll back. Returns rows it committed. */
async function clientWork(client: PgClient, id: number): Promise<number> {
  let committed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await client.query('BEGIN');
    const first = await client.query<{ pid: number; txid: string }>('SELECT pg_backend_pid() AS pid, txid_current()::text AS txid');
    const payload = `client-${id}-round-${round}`;
    await client.query('INSERT INTO items (client, round, payload) VALUES ($1, $2, $3)', [id, round, payload]);
    const echo = await client.query<{ v: number; s: string }>('SELECT $1::int AS v, $2::text AS s', [id * 1000 + round, payload]);
    expect(echo.rows).toEqual([{ v: id * 1000 + round, s: payload }]);
    // Own uncommitted row visible, nobody else's uncommitted rows: same backend, same transaction.
    const mine = await client.query<{ n: number; last: string }>(
      'SELECT count(*)::int AS n, max(payload) FILTER (WHERE round = $2) AS last FROM items WHERE client = $1',
      [id, round],
    );
    expect(mine.rows).toEqual([{ n: committed + 1, last: payload }]);
    const last = await client.query<{ pid: number; txid: string }>('SELECT pg_backend_pid() AS pid, txid_current()::text AS txid');
    expect(last.rows[0]).toEqual(first.rows[0]);
    if (round % 2 === 0) {
      await client.query('COMMIT');
      committed++;
    } else {
      await client.query('ROLLBACK');
    }
    // Between transactions, an error in a transaction must leave the session usable after ROLLBACK.
    if (round === 3) {
      await client.query('BEGIN');
      const err = pgErrorInfo(await rejectionOf(client.query('SELECT 1 / $1::int', [0])));
      expect(err).toMatchObject({ code: '22012', severity: 'ERROR' });
      const aborted = pgErrorInfo(await rejectionOf(client.query('SELECT $1::int', [1])));
      expect(aborted.code).toBe('25P02');
      await client.query('ROLLBACK');
    }
  }
  const after = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE client = $1', [id]);
  expect(after.rows[0]?.n).toBe(committed);
  return committed;
}

describe.each(['transaction', 'session'] as const)(`node-postgres, ${CLIENTS} clients on ${POOL_SIZE} server connections (%s mode)`, (mode) => {
  it('keeps each transaction on one backend and each client reads only its own writes', async () => {
    const t = tenants[mode];
    const clients: PgClient[] = [];
    try {
      const work = Array.from({ length: CLIENTS }, async (_, id) => {
        // In session mode a client holds a server connection from login to disconnect, so only
        // POOL_SIZE clients run at once; each must disconnect for the next to get a turn.
        const client = await connectPg(poolerConn(pooler!, t));
        clients.push(client);
        try {
          return await clientWork(client, id);
        } finally {
          if (mode === 'session') await client.end();
        }
      });
      const committed = await Promise.all(work);
      for (const c of clients) expect(backgroundErrorsOf(c)).toEqual([]);

      const admin = await connectPg(destinationConn(t));
      try {
        const rows = await admin.query<{ client: number; n: number }>('SELECT client, count(*)::int AS n FROM items GROUP BY client ORDER BY client');
        expect(rows.rows).toEqual(committed.map((n, client) => ({ client, n })));
        // Nothing left open on the server: no backend of this role idle in a transaction.
        const open = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state LIKE 'idle in transaction%'",
          [t.destination.user],
        );
        expect(open.rows[0]?.n).toBe(0);
        // The pool never grew past its size.
        const backends = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [
          t.destination.user,
        ]);
        expect(backends.rows[0]?.n).toBeLessThanOrEqual(POOL_SIZE);
      } finally {
        await admin.end();
      }
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
