// QUERY_TIMEOUT (docs/errors.md) rewrites the server's 57014 into "canceling statement due to query
// timeout" when the pooler itself cancelled the running query at pool.query_timeout. A pooler cancel
// can miss the query it was meant for (the query ended, or swallowed the cancel, before the signal
// arrived): the next 57014 of that client — PostgreSQL's own statement_timeout, or the user's own
// CancelRequest — must then be passed as the server wrote it, not told as the pooler's timeout
// with a detail ("ran for more than N s") that is false. The mark is good until the ReadyForQuery
// of the request that was running: the 57014 of a cancelled request comes before it.
// Here the client pipelines its requests, so it never stands idle at a sweep (which also clears it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly } from '../helpers/clients.ts';
import { errorFields, ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'qt-stale', pool: { mode: 'transaction', size: 1, query_timeout: 2 } });
  const direct = await connectPg(destinationConn(tenant));
  // A query that takes the pooler's cancel and carries on (an exception handler, as application
  // code may have): no 57014 reaches the client for it.
  await direct.query(`create or replace function takes_cancel() returns int language plpgsql as $$
    begin
      begin perform pg_sleep(30); exception when query_canceled then return 1; end;
      return 0;
    end $$`);
  await endQuietly(direct);
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close(0);
  await pg?.stop();
});

it("a 57014 after the pooler's cancel was taken by its query is passed as the server wrote it", async () => {
  const c = await ProtocolClient.connect(poolerConn(pooler!, tenant));
  try {
    // One write: the first query runs past query_timeout and takes the pooler's cancel; the next
    // ones set a statement_timeout of PostgreSQL's own, which cancels the sleep (well before the
    // pooler's next query_timeout cancel, 2 s after its first).
    await c.send(query('select takes_cancel()'), query("set statement_timeout = '300ms'"), query('select pg_sleep(30)'));
    const msgs = await c.untilReady(3);
    const errors = msgs.filter((m) => m.type === 'E').map((m) => errorFields(m.body));
    // The first query ended normally: the pooler's cancel did reach it (no 57014 for it).
    expect(msgs.filter((m) => m.type === 'D').length).toBe(1);
    expect(errors.map((f) => f.C)).toEqual(['57014']);
    // PostgreSQL's words: its statement_timeout (or, should the pooler's cancel be delivered late
    // enough to land on the sleep, 'user request'); never the pooler's query timeout.
    expect(['canceling statement due to statement timeout', 'canceling statement due to user request']).toContain(errors[0]!.M);
    expect(errors[0]!.D).toBeUndefined();
  } finally {
    c.destroy();
  }
}, 60_000);
