// A client that leaves mid-query has its query cancelled, and the cancel is repeated while its
// requests still run (backend/abandon.ts). A CancelRequest travels on its own connection and can
// arrive late (a busy postmaster, a slow network): one still in flight when the abandoned
// connection is reset and handed to the next client would cancel that client's query — a client
// hurt by another (issue 10). The connection must not be reused before every cancel sent for it
// has been delivered.
// Here PostgreSQL is reached through a proxy that, once armed, holds each new connection (only
// CancelRequests open new ones: pool size 1, its connection already open) for DELAY_MS.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { errorCodes, ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

const DELAY_MS = 3000;
let pg: PostgresServer;
let proxy: Server;
const sockets = new Set<Socket>();
let delayMs = 0;
let pooler: Pooler;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  // Half-open allowed both ways: the proxy closes the client's side only once PostgreSQL closed
  // its own (a CancelRequest is delivered when the server closes its connection).
  proxy = createServer({ allowHalfOpen: true }, (inbound) => {
    sockets.add(inbound);
    inbound.on('error', () => undefined);
    inbound.pause();
    setTimeout(() => {
      const out = connect({ host: pg.host, port: pg.port, allowHalfOpen: true }, () => {
        inbound.pipe(out);
        out.pipe(inbound);
        inbound.resume();
      });
      sockets.add(out);
      out.on('error', () => inbound.destroy());
      inbound.on('close', () => out.destroy());
      out.on('close', () => inbound.destroy());
    }, delayMs);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const base = await createTenant(pg, { id: 'late-cancel', pool: { mode: 'transaction', size: 1 } });
  const port = (proxy.address() as { port: number }).port;
  tenant = { ...base, config: { ...base.config, target: { ...base.config.target!, host: '127.0.0.1', port } } };
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  for (const s of sockets) s.destroy();
  proxy?.close();
  await pg?.stop();
});

it("a cancel sent for an abandoned query never reaches the next client's query", async () => {
  // The pool's one server connection opens now, before the proxy is armed.
  const a = await ProtocolClient.connect(poolerConn(pooler, tenant));
  expect(await a.simple('SELECT 1')).toEqual([['1']]);
  delayMs = DELAY_MS;
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
