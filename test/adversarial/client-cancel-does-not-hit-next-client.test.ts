// A client's CancelRequest is forwarded to the server connection it holds (cancel-router.ts), on
// a connection of its own, and can arrive late (a busy postmaster, a slow network). If the query
// it was meant for finishes first and the server connection goes to the next client, the cancel
// would stop THAT client's query: one client hurting another. The pooler must not hand the
// connection on before every cancel it sent for it has been delivered; a cancel delivered while
// the backend is idle is ignored by PostgreSQL. The same holds for the pooler's own query_timeout
// cancel. Here cancels reach PostgreSQL through test/helpers/delaying-proxy.ts, 3 s late.
import type { Client as PgClient } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pooler } from '../../pooler/src/pooler.ts';
import type { PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { startDelayedCancelRig, type DelayedCancelRig, type DelayingProxy } from '../helpers/delaying-proxy.ts';
import { errorCodes, ProtocolClient, query, rows, sendCancel, type Msg } from '../helpers/raw-protocol.ts';
import { poolerConn, superuserConn, type TestTenant } from '../helpers/tenants.ts';

const DELAY_MS = 3000;
let rig: DelayedCancelRig;
let pg: PostgresServer;
let proxy: DelayingProxy;
let pooler: Pooler;
let tenant: TestTenant;

beforeAll(async () => {
  rig = await startDelayedCancelRig('client-late-cancel');
  ({ pg, proxy, pooler, tenant } = rig);
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

/**
 * Sends `sql` on `a` (a short sleep), and once it runs, A's CancelRequest through the pooler; waits
 * until the pooler has forwarded the cancel (a new connection to the armed proxy), which then
 * reaches PostgreSQL only after the sleep is over. Returns A's replies and the cancel's delivery.
 */
async function cancelArrivingLate(a: ProtocolClient, su: PgClient, sql: string): Promise<{ replies: Promise<Msg[]>; cancelled: Promise<void> }> {
  const replies = a.request(query(sql));
  await until(async () => (await su.query("SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = $1", [sql])).rowCount === 1, 10_000, "A's query runs");
  const before = proxy.accepted;
  const cancelled = sendCancel(pooler.host, pooler.port, a.processId, a.secretKey);
  await until(async () => proxy.accepted > before, 10_000, 'the pooler forwards the cancel');
  return { replies, cancelled };
}

it("a client's cancel that arrives late never stops the next client's query", async () => {
  const a = await ProtocolClient.connect(poolerConn(pooler, tenant));
  const b = await ProtocolClient.connect(poolerConn(pooler, tenant));
  // The pool's one server connection opens now, before the proxy is armed.
  expect(await a.simple('SELECT 1')).toEqual([['1']]);
  proxy.delayMs = DELAY_MS;
  const su = await connectPg(superuserConn(pg));
  try {
    // A cancels its own query; it reaches PostgreSQL only after A's sleep is over.
    const { replies: aDone, cancelled } = await cancelArrivingLate(a, su, 'SELECT pg_sleep(0.5)');
    // B waits for the one server connection, and its query outlasts the late cancel.
    const bDone = b.request(query('SELECT pg_sleep(4)'));
    expect(errorCodes(await aDone), "A's sleep ended before its cancel arrived").toEqual([]);
    expect(errorCodes(await bDone), "the next client's query ran undisturbed").toEqual([]);
    await cancelled;
  } finally {
    await endQuietly(su);
    await a.end();
    await b.end();
  }
}, 60_000);

it('a backend that ends while its cancel is still travelling is handled as an idle connection (the pooler stays up)', async () => {
  proxy.delayMs = 0;
  const a = await ProtocolClient.connect(poolerConn(pooler, tenant));
  expect(await a.simple('SELECT 1')).toEqual([['1']]);
  proxy.delayMs = DELAY_MS;
  const su = await connectPg(superuserConn(pg));
  try {
    const { replies: aDone, cancelled } = await cancelArrivingLate(a, su, 'SELECT pg_backend_pid(), pg_sleep(0.5)');
    const msgs = await aDone;
    expect(errorCodes(msgs)).toEqual([]);
    const pid = Number(rows(msgs)[0]?.[0]);
    expect(pid).toBeGreaterThan(0);
    // The connection waits for its cancel, unlinked from A. Its backend is terminated meanwhile:
    // the FATAL it sends must not reach A (or the pooler's client code) — the pooler must stay up.
    await su.query('SELECT pg_terminate_backend($1)', [pid]);
    proxy.delayMs = 0;
    await cancelled;
    expect(await a.simple('SELECT 2')).toEqual([['2']]);
  } finally {
    await endQuietly(su);
    await a.end();
  }
}, 60_000);
