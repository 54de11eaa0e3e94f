// A client that leaves mid-query has its query cancelled, and the cancel is repeated while its
// requests still run (backend/abandon.ts). A CancelRequest travels on its own connection and can
// arrive late (a busy postmaster, a slow network): one still in flight when the abandoned
// connection is reset and handed to the next client would cancel that client's query — a client
// hurt by another (issue 10). The connection must not be reused before every cancel sent for it
// has been delivered.
// Here PostgreSQL is reached through test/helpers/delaying-proxy.ts (cancels held for DELAY_MS).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pooler } from '../../pooler/src/pooler.ts';
import type { PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { startDelayedCancelRig, type DelayedCancelRig, type DelayingProxy } from '../helpers/delaying-proxy.ts';
import { errorCodes, ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { poolerConn, superuserConn, type TestTenant } from '../helpers/tenants.ts';

const DELAY_MS = 3000;
let rig: DelayedCancelRig;
let pg: PostgresServer;
let proxy: DelayingProxy;
let pooler: Pooler;
let tenant: TestTenant;

beforeAll(async () => {
  rig = await startDelayedCancelRig('late-cancel');
  ({ pg, proxy, pooler, tenant } = rig);
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

it("a cancel sent for an abandoned query never reaches the next client's query", async () => {
  // The pool's one server connection opens now, before the proxy is armed.
  const a = await ProtocolClient.connect(poolerConn(pooler, tenant));
  expect(await a.simple('SELECT 1')).toEqual([['1']]);
  proxy.delayMs = DELAY_MS;
  const su = await connectPg(superuserConn(pg));
  try {
    await a.send(query('SELECT pg_sleep(30)'));
    await until(
      async () => (await su.query("SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'")).rowCount === 1,
      10_000,
      'the abandoned sleep runs',
    );
    a.destroy();
    // Waits for the slot; gets it once the first cancel has stopped the sleep. Its own query
    // outlasts every repeated cancel sent meanwhile.
    const b = await ProtocolClient.connect(poolerConn(pooler, tenant));
    const msgs = await b.request(query('SELECT pg_sleep(4)'));
    expect(errorCodes(msgs), "the next client's query ran undisturbed").toEqual([]);
    await b.end();
  } finally {
    await endQuietly(su);
  }
}, 60_000);
