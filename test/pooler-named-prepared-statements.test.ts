// Named prepared statements (Parse with a statement name). In transaction mode each client's names
// are its own (docs/transaction-mode.md): every client gets the correct result — never a wrong
// one, and never a confusing server error such as "prepared statement does not exist" (26000) or
// "already exists" (42P05) from a statement that lives on another client's server connection.
// In session mode the server connection is the client's own, so named statements just work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let txn: TestTenant;
let session: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  // One server connection shared by several clients: the worst case for statement names colliding.
  txn = await createTenant(pg, { id: 'named-txn', pool: { mode: 'transaction', size: 1 } });
  session = await createTenant(pg, { id: 'named-session', pool: { mode: 'session', size: 2, checkout_timeout: 60 } });
  pooler = await startPooler(poolerConfig([txn.config, session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

type Outcome = { kind: 'ok' } | { kind: 'clear-error'; severity: string | undefined; message: string };

/**
 * Runs a named statement and classifies the outcome: a correct result, or a clear "not supported"
 * error. Anything else (wrong value, another SQLSTATE, a closed connection without a FATAL
 * first, a hang) fails the test.
 */
async function namedQuery(client: PgClient, name: string, clientIndex: number, value: number): Promise<Outcome> {
  try {
    // Each client gives the same statement name a different text: if the pooler forwarded the
    // names, clients would execute each other's statements (and read another client's tag).
    const r = await client.query<{ v: number; tag: string }>({
      name,
      text: `SELECT $1::int AS v, 'client-${clientIndex}'::text AS tag`,
      values: [value],
    });
    expect(r.rows).toEqual([{ v: value, tag: `client-${clientIndex}` }]);
    return { kind: 'ok' };
  } catch (err) {
    const info = pgErrorInfo(err);
    expect(info.code, `unexpected error for a named statement: ${info.message}`).toBe('0A000');
    expect(['ERROR', 'FATAL']).toContain(info.severity);
    expect(info.message.length).toBeGreaterThan(0);
    return { kind: 'clear-error', severity: info.severity, message: info.message };
  }
}

describe('transaction mode', () => {
  it('answers every named statement with the correct result', async () => {
    const clients: PgClient[] = [];
    try {
      for (let i = 0; i < 4; i++) clients.push(await connectPg(poolerConn(pooler!, txn)));
      const outcomes: Outcome[][] = clients.map(() => []);
      // Interleave: every client prepares and re-executes the same name, several rounds.
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          clients.map(async (c, i) => {
            const mine = outcomes[i]!;
            const last = mine.at(-1);
            if (last?.kind === 'clear-error' && last.severity === 'FATAL') return; // connection is gone
            mine.push(await namedQuery(c, 'stmt', i, i * 100 + round));
          }),
        );
      }
      for (const [i, mine] of outcomes.entries()) {
        const shown = mine.map((o) => (o.kind === 'ok' ? 'ok' : `${o.severity}: ${o.message}`)).join(' | ');
        expect(mine.map((o) => o.kind), `client ${i}: ${shown}`).toEqual(['ok', 'ok', 'ok']);
      }
      // Unnamed statements keep working for clients whose session survived (ERROR, not FATAL).
      for (const [i, c] of clients.entries()) {
        if (outcomes[i]!.every((o) => o.kind === 'ok' || o.severity === 'ERROR')) {
          const r = await c.query<{ v: number }>('SELECT $1::int AS v', [i]);
          expect(r.rows).toEqual([{ v: i }]);
        }
      }
      // And the pool is healthy for new clients.
      const fresh = await connectPg(poolerConn(pooler!, txn));
      clients.push(fresh);
      expect((await fresh.query<{ v: number }>('SELECT $1::int AS v', [7])).rows).toEqual([{ v: 7 }]);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});

describe('session mode', () => {
  it('prepares and re-executes named statements on the client’s own server connection', async () => {
    const clients: PgClient[] = [];
    try {
      for (let i = 0; i < 2; i++) clients.push(await connectPg(poolerConn(pooler!, session)));
      await Promise.all(
        clients.map(async (c, i) => {
          for (let round = 0; round < 5; round++) {
            // pg sends Parse only the first time; later rounds Bind to the already-prepared name.
            expect(await namedQuery(c, 'stmt', i, i * 100 + round)).toEqual({ kind: 'ok' });
          }
          const prepared = await c.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
          expect(prepared.rows).toEqual([{ name: 'stmt' }]);
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
