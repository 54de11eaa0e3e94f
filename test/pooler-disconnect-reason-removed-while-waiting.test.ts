// A client waiting for a server connection when a reload removes its tenant is ended with
// TENANT_REMOVED (57P01) and counted under the catalogue's reason for it, tenant_removed
// (docs/errors.md, switchyard_client_disconnects_total) — not connect_failed, which is for a
// checkout that found no server connection.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let other: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'removed-while-waiting', pool: { mode: 'transaction', size: 1, checkout_timeout: 60 } });
  other = await createTenant(pg, { id: 'stays', pool: { mode: 'transaction', size: 1 } });
  pooler = await startPooler(poolerConfig([tenant.config, other.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close(0);
  await pg?.stop();
});

it('counts a waiting client of a removed tenant as tenant_removed', async () => {
  const holder = await connectPg(poolerConn(pooler!, tenant));
  const waiter = await connectPg(poolerConn(pooler!, tenant));
  try {
    await holder.query('begin');
    const waited = rejectionOf(waiter.query('select 1'));
    await until(() => pooler!.poolStats().find((p) => p.tenantId === tenant.config.id)?.clientsWaiting === 1, 10_000, 'the waiter queued');
    pooler!.reload(poolerConfig([other.config]));
    expect(pgErrorInfo(await waited).code).toBe('57P01');
    await until(() => pooler!.disconnectCounts().has('tenant_removed'), 10_000, 'the waiter counted');
    expect(pooler!.disconnectCounts().get('tenant_removed')).toBe(1);
    expect(pooler!.disconnectCounts().get('connect_failed')).toBeUndefined();
  } finally {
    await endQuietly(waiter);
    await endQuietly(holder);
  }
}, 60_000);
