// Per-tenant limits that keep one client's mistake from holding server connections: a query
// running past query_timeout is cancelled (57014, the session survives), a transaction left idle
// past idle_in_transaction_timeout ends the client (25P03) and is rolled back, and a client idle
// between transactions past client_idle_timeout is disconnected (57P05).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, backgroundErrorsOf, until, within } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let query: TestTenant;
let idleTx: TestTenant;
let idle: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  query = await createTenant(pg, { id: 'to-query', pool: { mode: 'transaction', size: 2, query_timeout: 1 } });
  idleTx = await createTenant(pg, { id: 'to-idle-tx', pool: { mode: 'transaction', size: 1, idle_in_transaction_timeout: 1 } });
  idle = await createTenant(pg, { id: 'to-idle', pool: { mode: 'transaction', size: 1, client_idle_timeout: 1 } });
  pooler = await startPooler(poolerConfig([query.config, idleTx.config, idle.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe('pooler timeouts', () => {
  it('query_timeout cancels a long query and the session goes on', async () => {
    const c = await connectPg(poolerConn(pooler!, query));
    try {
      const err = await within(rejectionOf(c.query('select pg_sleep(20)')), 10_000, 'the cancel');
      expect(pgErrorInfo(err).code).toBe('57014');
      // QUERY_TIMEOUT (docs/errors.md), not the server's "canceling statement due to user request".
      expect(pgErrorInfo(err).message).toBe('canceling statement due to query timeout');
      expect((err as { detail?: string }).detail).toBe('the query ran for more than 1 s (pool.query_timeout)');
      const r = await c.query<{ v: number }>('select 1 as v');
      expect(r.rows[0]?.v).toBe(1);
    } finally {
      await endQuietly(c);
    }
  });

  it('query_timeout is told as QUERY_TIMEOUT to a client with named prepared statements too', async () => {
    const c = await connectPg(poolerConn(pooler!, query));
    try {
      const err = await within(rejectionOf(c.query({ name: 'sleepy', text: 'select pg_sleep($1)', values: [20] })), 10_000, 'the cancel');
      expect(pgErrorInfo(err).code).toBe('57014');
      expect(pgErrorInfo(err).message).toBe('canceling statement due to query timeout');
      const r = await c.query<{ v: number }>({ name: 'one', text: 'select 1 as v' });
      expect(r.rows[0]?.v).toBe(1);
    } finally {
      await endQuietly(c);
    }
  });

  it('idle_in_transaction_timeout ends the client and rolls its transaction back', async () => {
    const direct = await connectPg(destinationConn(idleTx));
    await direct.query('create table if not exists t_idle (v int)');
    const c = await connectPg(poolerConn(pooler!, idleTx));
    try {
      await c.query('begin');
      await c.query('insert into t_idle values (1)');
      await until(() => backgroundErrorsOf(c).length > 0, 10_000, 'the idle-in-transaction FATAL');
      expect(backgroundErrorsOf(c).map((e) => pgErrorInfo(e).code)).toContain('25P03');
      // The only server connection is usable by the next client, and the insert is gone.
      const next = await connectPg(poolerConn(pooler!, idleTx));
      const r = await next.query<{ n: string }>('select count(*) as n from t_idle');
      expect(r.rows[0]?.n).toBe('0');
      await endQuietly(next);
    } finally {
      await endQuietly(c);
      await endQuietly(direct);
    }
  });

  it('client_idle_timeout disconnects a client idle between transactions', async () => {
    const c = await connectPg(poolerConn(pooler!, idle));
    try {
      await c.query('select 1');
      await until(() => backgroundErrorsOf(c).length > 0, 10_000, 'the idle-session FATAL');
      expect(backgroundErrorsOf(c).map((e) => pgErrorInfo(e).code)).toContain('57P05');
    } finally {
      await endQuietly(c);
    }
  });
});
