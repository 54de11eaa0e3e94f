// Pool exhaustion: with one server connection and checkout_timeout 1 s, a client that needs a
// server connection while another client holds the only one gets a clear error (CHECKOUT_TIMEOUT:
// SQLSTATE 53300, pooler/src/errors.ts) instead of hanging; once the holder is done, queries
// work again. Transaction mode: the holder is an open transaction. Session mode: an open session.
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

/** What the pooler documents for a checkout timeout; 08P01 tolerated per the issue. */
const CHECKOUT_CODES = ['53300', '08P01'];
/** A hang detector, far above checkout_timeout (1 s). */
const HANG_MS = 20_000;

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

      const err = pgErrorInfo(await within(rejectionOf(b.query('SELECT $1::int AS v', [2])), HANG_MS, 'query waiting for a server connection'));
      // docs/errors.md: CHECKOUT_TIMEOUT is ERROR 53300 and the session goes on.
      expect(err.code).toBe('53300');
      expect(err.severity).toBe('ERROR');
      expect(err.message).toMatch(/server connection|pool|timeout|too many/i);

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

      // The pooler may assign the server connection at login or at the first query: either step
      // may be the one that fails.
      const attempt = (async (): Promise<void> => {
        const b = await connectPg(poolerConn(pooler!, t));
        clients.push(b);
        await b.query('SELECT $1::int AS v', [2]);
      })();
      const err = pgErrorInfo(await within(rejectionOf(attempt), HANG_MS, 'second session waiting for a server connection'));
      console.info(`checkout timeout error (session): ${err.code} ${err.severity} ${err.message}`);
      expect(CHECKOUT_CODES).toContain(err.code);
      expect(['ERROR', 'FATAL']).toContain(err.severity);

      expect((await a.query<{ v: number }>('SELECT $1::int AS v', [3])).rows).toEqual([{ v: 3 }]);
      await a.end();

      const c = await connectPg(poolerConn(pooler!, t));
      clients.push(c);
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [5])).rows).toEqual([{ v: 5 }]);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
