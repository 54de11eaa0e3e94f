// node-postgres with named queries ({ name, text, values }: pg sends Parse once per connection,
// then only Bind/Execute) through the pooler: 20 clients on 3 server connections in transaction
// mode, each running transactions of several named statements (insert, read back, a per-client
// text under a name every client uses, an aggregate), committing some and rolling back others,
// plus named statements outside transactions. Every client must read exactly its own results, and
// the committed rows must be exactly the ones each client committed. Session mode (one server
// connection per client) runs the same workload as the reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, within, type PgClient } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const CLIENTS = 20;
const POOL_SIZE = 3;
const ROUNDS = 8;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'pgnamed-txn', pool: { mode: 'transaction', size: POOL_SIZE } });
  tenants.session = await createTenant(pg, { id: 'pgnamed-session', pool: { mode: 'session', size: CLIENTS } });
  for (const t of Object.values(tenants)) {
    const admin = await connectPg(destinationConn(t));
    await admin.query('CREATE TABLE items (client int NOT NULL, round int NOT NULL, v int NOT NULL)');
    await admin.end();
  }
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** The statements; `tag` has a different text per client under the same name. */
const insert = (id: number, round: number, v: number) => ({ name: 'ins', text: 'INSERT INTO items (client, round, v) VALUES ($1, $2, $3) RETURNING v', values: [id, round, v] });
const mine = (id: number) => ({ name: 'mine', text: 'SELECT count(*)::int AS n, coalesce(sum(v), 0)::int AS total FROM items WHERE client = $1', values: [id] });
const tag = (id: number, x: number) => ({ name: 'tag', text: `SELECT $1::int * 2 AS doubled, 'client-${id}'::text AS tag`, values: [x] });
const txid = { name: 'txid', text: 'SELECT pg_backend_pid() AS pid, txid_current()::text AS txid' };

async function clientWork(c: PgClient, id: number): Promise<{ n: number; total: number }> {
  let committed = { n: 0, total: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const v = id * 100 + round;
    // Outside a transaction: the per-client text under the shared name.
    expect((await c.query(tag(id, v))).rows).toEqual([{ doubled: v * 2, tag: `client-${id}` }]);
    await c.query('BEGIN');
    const first = await c.query<{ pid: number; txid: string }>(txid);
    expect((await c.query(insert(id, round, v))).rows).toEqual([{ v }]);
    expect((await c.query(insert(id, round, 1))).rows).toEqual([{ v: 1 }]);
    expect((await c.query(mine(id))).rows).toEqual([{ n: committed.n + 2, total: committed.total + v + 1 }]);
    expect((await c.query(tag(id, round))).rows).toEqual([{ doubled: round * 2, tag: `client-${id}` }]);
    // Same backend, same transaction throughout.
    expect((await c.query(txid)).rows).toEqual(first.rows);
    if (round % 3 === 2) {
      await c.query('ROLLBACK');
    } else {
      await c.query('COMMIT');
      committed = { n: committed.n + 2, total: committed.total + v + 1 };
    }
    if (round === 4) {
      // An error in a named statement inside a transaction, then ROLLBACK: the session goes on.
      await c.query('BEGIN');
      const err = pgErrorInfo(await rejectionOf(c.query({ name: 'div', text: 'SELECT 1 / $1::int AS q', values: [0] })));
      expect(err.code, err.message).toBe('22012');
      await c.query('ROLLBACK');
      expect((await c.query({ name: 'div', text: 'SELECT 1 / $1::int AS q', values: [1] })).rows).toEqual([{ q: 1 }]);
    }
  }
  expect((await c.query(mine(id))).rows).toEqual([committed]);
  return committed;
}

describe.each(MODES)(`node-postgres named queries, ${CLIENTS} clients (%s mode)`, (mode) => {
  it('every client gets its own named statements’ results', async () => {
    const t = tenants[mode];
    const clients: PgClient[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) clients.push(await connectPg(poolerConn(pooler!, t)));
      const results = await within(
        Promise.allSettled(clients.map((c, id) => clientWork(c, id))),
        120_000,
        'the client workloads',
      );
      const failures = results.flatMap((r, id) => (r.status === 'rejected' ? [`client ${id}: ${pgErrorInfo(r.reason).code ?? ''} ${pgErrorInfo(r.reason).message}`] : []));
      expect(failures, failures.join('\n')).toEqual([]);
      for (const c of clients) expect(backgroundErrorsOf(c)).toEqual([]);
      const committed = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      const admin = await connectPg(destinationConn(t));
      try {
        const rows = await admin.query<{ client: number; n: number; total: number }>(
          'SELECT client, count(*)::int AS n, sum(v)::int AS total FROM items GROUP BY client ORDER BY client',
        );
        expect(rows.rows).toEqual(committed.map((c, client) => ({ client, ...c })));
        if (mode === 'transaction') {
          const backends = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [t.destination.user]);
          expect(backends.rows[0]?.n).toBeLessThanOrEqual(POOL_SIZE);
        }
      } finally {
        await admin.end();
      }
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
