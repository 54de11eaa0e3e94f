// Once a client has authenticated, its login waits for the pool's server parameters (a server
// connection of its tenant: up to connect_timeout, with retries, when the destination is slow or
// unreachable) before it tells the client ReadyForQuery. Whatever the client sends meanwhile is
// held for it (frontend/login.ts). A client that keeps sending must not grow the pooler without
// bound — one authenticated tenant would take the memory of every tenant: past INPUT_HIGH_WATER
// of held input the pooler stops reading it (its TCP window closes), as it does for a client
// waiting in the checkout queue (waiting-client-input-bounded-memory.test.ts).
// The destination here accepts TCP connections and never answers, so the login keeps waiting.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { until } from '../helpers/clients.ts';
import { floodWithoutReading, MiB, repeatTo } from '../helpers/hostile.ts';
import { ProtocolClient, query, rows } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let silent: Server;
const held = new Set<Socket>();
let slow: Server;
let pooler: Pooler | undefined;
let tenant: TestTenant;
/** Its destination is reached through `slow`, which holds each new connection for SLOW_MS. */
let late: TestTenant;
const SLOW_MS = 2000;

beforeAll(async () => {
  pg = await startPostgres();
  silent = createServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const base = await createTenant(pg, { id: 'login-flood', pool: { mode: 'transaction', size: 1, connect_timeout: 120 } });
  const port = (silent.address() as { port: number }).port;
  tenant = { ...base, config: { ...base.config, target: { ...base.config.target!, host: '127.0.0.1', port } } };
  slow = createServer((inbound) => {
    held.add(inbound);
    inbound.on('error', () => undefined);
    inbound.pause();
    setTimeout(() => {
      const out = connect({ host: pg.host, port: pg.port }, () => {
        inbound.pipe(out);
        out.pipe(inbound);
        inbound.resume();
      });
      held.add(out);
      out.on('error', () => inbound.destroy());
      inbound.on('close', () => out.destroy());
      out.on('close', () => inbound.destroy());
    }, SLOW_MS);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const lateBase = await createTenant(pg, { id: 'login-late', pool: { mode: 'transaction', size: 1 } });
  const slowPort = (slow.address() as { port: number }).port;
  late = { ...lateBase, config: { ...lateBase.config, target: { ...lateBase.config.target!, host: '127.0.0.1', port: slowPort } } };
  pooler = await startPooler(poolerConfig([tenant.config, late.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close(0);
  for (const s of held) s.destroy();
  silent?.close();
  slow?.close();
  await pg?.stop();
});

it('stops reading an authenticated client that floods while its login awaits a server', async () => {
  const c = await ProtocolClient.open(pooler!.host, pooler!.port);
  try {
    const login = c.login(poolerConn(pooler!, tenant)).catch(() => undefined);
    await until(() => pooler!.clientsPerTenant().get(tenant.config.id) === 1, 10_000, 'the login authenticated');
    const flood = await floodWithoutReading(c.socket, repeatTo(query('SELECT 1'), MiB), { maxBytes: 256 * MiB, stallMs: 3000, deadlineMs: 20_000 });
    console.info(`flood during login: ${(flood.sent / MiB).toFixed(0)} MiB accepted, stalled: ${flood.stalled}`);
    // Held input (1 MiB) plus the kernel's socket buffers on both sides; never the whole flood.
    expect(flood.stalled).toBe(true);
    expect(flood.sent).toBeLessThan(64 * MiB);
    c.destroy();
    await login;
  } finally {
    c.destroy();
  }
}, 60_000);

it('reads such a client again once its login is done: every request sent meanwhile is answered', async () => {
  const c = await ProtocolClient.open(pooler!.host, pooler!.port);
  try {
    const login = c.login(poolerConn(pooler!, late));
    await until(() => pooler!.clientsPerTenant().get(late.config.id) === 1, 10_000, 'the login authenticated');
    // More than INPUT_HIGH_WATER (1 MiB) while the server connection is being opened.
    const n = 300;
    const q = query(`SELECT length('${'x'.repeat(8000)}')`);
    void c.send(...Array.from({ length: n }, () => q));
    await login;
    const msgs = await c.untilReady(n);
    expect(rows(msgs).length).toBe(n);
    expect(rows(msgs)[n - 1]).toEqual(['8000']);
  } finally {
    c.destroy();
  }
}, 60_000);
