// A client that a reload (tenant suspended or removed) or a drain marks for closing while it waits
// for a server connection is closed at its next transaction boundary (ClientConnection
// closeAtBoundary). A checkout that fails with an ERROR (CHECKOUT_TIMEOUT, SERVER_CONNECT_FAILED)
// answers the waiting requests with the error and ReadyForQuery 'I': that is the boundary. The
// client must be closed there, not stay connected until it sends more — its next transaction
// would run for a tenant that is suspended (or hold a draining pooler until shutdown_timeout).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, until } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'due-after-checkout', pool: { mode: 'transaction', size: 1, checkout_timeout: 1 } });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close(0);
  await pg?.stop();
});

it('a client suspended while waiting is closed once its checkout has failed', async () => {
  const holder = await connectPg(poolerConn(pooler!, tenant));
  const waiter = await connectPg(poolerConn(pooler!, tenant));
  try {
    // The only server connection is held by an open transaction: the waiter's query waits.
    await holder.query('begin');
    const waited = rejectionOf(waiter.query('select 1'));
    await until(() => pooler!.poolStats()[0]?.clientsWaiting === 1, 10_000, 'the waiter queued');
    pooler!.reload(poolerConfig([{ ...tenant.config, status: 'suspended' }]));
    expect(pgErrorInfo(await waited).code).toBe('53300');
    // Closed at that boundary with the reload's reason (57P03), without sending anything more.
    await until(() => backgroundErrorsOf(waiter).length > 0, 10_000, "the waiter's FATAL");
    expect(backgroundErrorsOf(waiter).map((e) => pgErrorInfo(e).code)).toContain('57P03');
    await until(() => pooler!.clientList().length === 1, 10_000, 'the waiter gone');
    expect(pooler!.disconnectCounts().get('tenant_suspended')).toBe(1);
  } finally {
    await endQuietly(waiter);
    await endQuietly(holder);
  }
}, 60_000);
