// Pool exhaustion: with one server connection and checkout_timeout 1 s, a client that needs a
// server connection while another client holds the only one gets a clear error (CHECKOUT_TIMEOUT:
// ERROR 53300, pooler/src/errors.ts) — not before the timeout has passed, and not a hang — and
// its session goes on; once the holder is done, queries work again. Transaction mode: the holder
// is an open transaction. Session mode: an open session; the waiting client's login succeeds and
// its first query is the one that waits (a session gets its server connection on first use).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, within, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
type Mode = 'transaction' | 'session';

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<Mode, TestTenant>;

/** A hang detector, far above checkout_timeout (1 s). */
const HANG_MS = 20_000;
const CHECKOUT_TIMEOUT_MS = 1000;

/** The query's error and how long it took to come. */
async function timedRejection(p: () => Promise<unknown>, what: string): Promise<{ err: ReturnType<typeof pgErrorInfo>; elapsedMs: number }> {
  const started = Date.now();
  const err = pgErrorInfo(await within(rejectionOf(p()), HANG_MS, what));
  return { err, elapsedMs: Date.now() - started };
}

beforeAll(async () => {
  pg = await startPostgres();
  for (const mode of ['transaction', 'session'] as const) {
    tenants[mode] = await createTenant(pg, { id: `exhaust-${mode}`, pool: { mode, size: 1, checkout_timeout: 1 } });
  }
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe('transaction mode', () => {
  it('times out a waiting query with a clear error while a transaction holds the only connection', async () => {
    const t = tenants.transaction;
    const clients: PgClient[] = [];
    try {
      const a = await connectPg(poolerConn(pooler!, t));
      const b = await connectPg(poolerConn(pooler!, t));
      clients.push(a, b);
      await a.query('BEGIN');
      await a.query('SELECT $1::int', [1]);

      const { err, elapsedMs } = await timedRejection(() => b.query('SELECT $1::int AS v', [2]), 'query waiting for a server connection');
      // docs/errors.md: CHECKOUT_TIMEOUT is ERROR 53300 and the session goes on; not before the timeout.
      expect(err).toEqual({ code: '53300', severity: 'ERROR', message: `no server connection available for tenant "${t.id}" within 1 s` });
      expect(elapsedMs).toBeGreaterThanOrEqual(CHECKOUT_TIMEOUT_MS);

      // A's transaction was not disturbed by B's wait.
      expect((await a.query<{ v: number }>('SELECT $1::int AS v', [3])).rows).toEqual([{ v: 3 }]);
      await a.query('COMMIT');

      // After A's commit the connection is free: B (its session survived the ERROR) and a brand
      // new client both get answers.
      expect((await b.query<{ v: number }>('SELECT $1::int AS v', [4])).rows).toEqual([{ v: 4 }]);
      const c = await connectPg(poolerConn(pooler!, t));
      clients.push(c);
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [5])).rows).toEqual([{ v: 5 }]);
      expect((await a.query<{ v: number }>('SELECT $1::int AS v', [6])).rows).toEqual([{ v: 6 }]);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});

describe('session mode', () => {
  it('times out a second session with a clear error while the first holds the only connection', async () => {
    const t = tenants.session;
    const clients: PgClient[] = [];
    try {
      const a = await connectPg(poolerConn(pooler!, t));
      clients.push(a);
      await a.query('SELECT 1');

      // The login needs no server connection (server parameters are known from A's): it succeeds;
      // the first query is the one that waits, and gets the ERROR.
      const b = await within(connectPg(poolerConn(pooler!, t)), HANG_MS, 'second session login');
      clients.push(b);
      const { err, elapsedMs } = await timedRejection(() => b.query('SELECT $1::int AS v', [2]), 'second session waiting for a server connection');
      expect(err).toEqual({ code: '53300', severity: 'ERROR', message: `no server connection available for tenant "${t.id}" within 1 s` });
      expect(elapsedMs).toBeGreaterThanOrEqual(CHECKOUT_TIMEOUT_MS);

      expect((await a.query<{ v: number }>('SELECT $1::int AS v', [3])).rows).toEqual([{ v: 3 }]);
      await a.end();
      // B's session survived the ERROR and gets the server connection A gave back.
      expect((await b.query<{ v: number }>('SELECT $1::int AS v', [4])).rows).toEqual([{ v: 4 }]);
      await b.end();

      const c = await connectPg(poolerConn(pooler!, t));
      clients.push(c);
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [5])).rows).toEqual([{ v: 5 }]);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
