// Cancel requests through the pooler (protocol docs, "Canceling Requests in Progress"): the client
// sends a CancelRequest with the BackendKeyData the POOLER gave it, on a new connection; the pooler
// forwards it to the server connection that client holds. The running query must end with 57014
// (query_canceled) long before it would finish on its own, and the client goes on working —
// for a simple query, for a named prepared statement (transaction mode tracks those), and inside
// an explicit transaction. A cancel with a wrong secret, or one for a client that holds no server
// connection, must cancel nothing — in particular not another client's query on the server
// connection the first client used before (transaction mode, one server connection).
// And a cancel must hit only the query it was sent for: once the client has its 57014 and the
// cancel connection is closed, its next query — or the next client's on that server connection —
// must run normally. (libpq's PQcancel returns when the server closes the cancel connection, i.e.
// after the server signalled the backend; PostgreSQL signals it twice, the backend and its process
// group, so a pooler that lets the server connection run the next query before PostgreSQL has
// closed the forwarded cancel connection lets a late signal cancel that next query. PgBouncer
// fixed the same race: pgbouncer/pgbouncer#717.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { sendCancel } from './helpers/raw-protocol.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, superuserConn, testLogger, type ConnSettings, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
/** pg_sleep(30) would end on its own after 30 s; a cancel must end it well before (hang detector). */
const SLEEP_S = 30;
const CANCEL_BOUND_MS = 15_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let admin: PgClient;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'cancel-txn', pool: { mode: 'transaction', size: 1 } });
  tenants.session = await createTenant(pg, { id: 'cancel-session', pool: { mode: 'session', size: 3 } });
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
  admin = await connectPg(superuserConn(pg));
});

afterAll(async () => {
  await endQuietly(admin);
  await pooler?.close();
  await pg?.stop();
});

/** The pooler-issued cancel key pg received in BackendKeyData. */
function keyOf(c: PgClient): { processId: number; secretKey: number } {
  const k = c as unknown as { processID: number | null; secretKey: number | null };
  if (k.processID === null || k.secretKey === null) throw new Error('no BackendKeyData received');
  return { processId: k.processID, secretKey: k.secretKey };
}

/** Waits until PostgreSQL shows a running pg_sleep in the tenant's database. */
async function sleeping(t: TestTenant): Promise<void> {
  await until(
    async () => {
      const r = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
        [t.destination.database],
      );
      return (r.rows[0]?.n ?? 0) > 0;
    },
    10_000,
    'pg_sleep to be running',
  );
}

async function cancelThroughPooler(c: PgClient, override: Partial<{ secretKey: number }> = {}): Promise<void> {
  const k = keyOf(c);
  await sendCancel(pooler!.host, pooler!.port, k.processId, override.secretKey ?? k.secretKey);
}

describe.each(MODES)('%s mode', (mode) => {
  const cases: { name: string; run: (c: PgClient) => Promise<unknown> }[] = [
    { name: 'simple query', run: (c) => c.query(`SELECT pg_sleep(${SLEEP_S})`) },
    { name: 'named prepared statement', run: (c) => c.query({ name: 'sleepy', text: 'SELECT pg_sleep($1::float8)', values: [SLEEP_S] }) },
    {
      name: 'query inside BEGIN',
      run: async (c) => {
        await c.query('BEGIN');
        await c.query(`SELECT pg_sleep(${SLEEP_S})`);
      },
    },
  ];

  it.each(cases)('cancels a running $name with 57014; the client goes on', async ({ name, run }) => {
    const t = tenants[mode];
    const c = await connectPg(poolerConn(pooler!, t));
    try {
      if (name === 'named prepared statement') {
        // Prepared before, so the cancel hits an execution of an existing named statement.
        await c.query({ name: 'sleepy', text: 'SELECT pg_sleep($1::float8)', values: [0] });
      }
      const running = rejectionOf(run(c));
      await sleeping(t);
      await cancelThroughPooler(c);
      const err = pgErrorInfo(await within(running, CANCEL_BOUND_MS, `the cancelled ${name} to end`));
      expect(err.code, err.message).toBe('57014');
      if (name === 'query inside BEGIN') await c.query('ROLLBACK');
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [5])).rows).toEqual([{ v: 5 }]);
      if (name === 'named prepared statement') {
        const again = await c.query({ name: 'sleepy', text: 'SELECT pg_sleep($1::float8)', values: [0] });
        expect(again.rowCount).toBe(1);
      }
    } finally {
      await endQuietly(c);
    }
  });

  it('a cancel with the wrong secret cancels nothing', async () => {
    const t = tenants[mode];
    const c = await connectPg(poolerConn(pooler!, t));
    try {
      const running = c.query<{ done: string }>("SELECT pg_sleep(1.5), 'finished' AS done");
      await sleeping(t);
      await cancelThroughPooler(c, { secretKey: (keyOf(c).secretKey + 1) | 0 });
      const r = await within(running, CANCEL_BOUND_MS, 'the query to finish');
      expect(r.rows[0]?.done).toBe('finished');
    } finally {
      await endQuietly(c);
    }
  });
});

describe('transaction mode, one server connection', () => {
  it('a cancel for an idle client does not cancel the next client’s query on the same server', async () => {
    const t = tenants.transaction;
    const idle = await connectPg(poolerConn(pooler!, t));
    const busy = await connectPg(poolerConn(pooler!, t));
    try {
      // Both run on the single server connection, one after the other.
      const pidIdle = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const running = busy.query<{ pid: number; done: string }>("SELECT pg_backend_pid() AS pid, pg_sleep(1.5), 'finished' AS done");
      await sleeping(t);
      await cancelThroughPooler(idle);
      const r = await within(running, CANCEL_BOUND_MS, 'the other client’s query to finish');
      expect(r.rows[0]?.pid).toBe(pidIdle);
      expect(r.rows[0]?.done).toBe('finished');
    } finally {
      await endQuietly(idle);
      await endQuietly(busy);
    }
  });
});

describe.each(['PostgreSQL directly (reference)', 'session mode', 'transaction mode'] as const)('a cancel hits only its own query: %s', (where) => {
  it('30 cancelled queries, each followed at once by another query on the same server connection: none of those is cancelled', async () => {
    const t = where === 'session mode' ? tenants.session : tenants.transaction;
    const conn: ConnSettings = where === 'PostgreSQL directly (reference)' ? destinationConn(t) : poolerConn(pooler!, t);
    const a = await connectPg(conn);
    // Transaction mode (one server connection): a second client whose queries follow a's on it.
    const b = where === 'transaction mode' ? await connectPg(conn) : undefined;
    const strays: string[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const running = rejectionOf(a.query(`SELECT pg_sleep(${SLEEP_S}), ${i} AS round`));
        await sleeping(t);
        const k = keyOf(a);
        await sendCancel(conn.host, conn.port, k.processId, k.secretKey);
        const err = pgErrorInfo(await within(running, CANCEL_BOUND_MS, 'the cancelled query to end'));
        expect(err.code, err.message).toBe('57014');
        for (const [who, c] of [['b', b], ['a', a]] as const) {
          if (c === undefined) continue;
          try {
            await c.query('SELECT pg_sleep(0.01)');
          } catch (e) {
            strays.push(`round ${i}, client ${who}: ${pgErrorInfo(e).code ?? ''} ${pgErrorInfo(e).message}`);
          }
        }
      }
      expect(strays, `queries cancelled by a cancel sent for an earlier query:\n${strays.join('\n')}`).toEqual([]);
    } finally {
      await endQuietly(a);
      await endQuietly(b);
    }
  });
});
