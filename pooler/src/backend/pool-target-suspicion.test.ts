// How a pool reacts when its target looks wrong: a refused connect keeps the waiters waiting
// (bounded by checkout_timeout) and asks for fresh targets; a server that refuses the login for
// good (wrong password) fails them at once; 25006 from a server asks for fresh targets; requests
// are rate-limited per pool.
import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { poolSettingsSchema } from '../config/schema.ts';
import type { PoolerError } from '../errors.ts';
import * as msg from '../net/messages.ts';
import { freePort } from '../../../shared/src/local/postgres-server.ts';
import { Pool, SUSPECT_INTERVAL_MS, type PoolClient, type TargetSuspicion } from './pool.ts';
import type { ServerConnection } from './server.ts';

const log = pino({ level: 'silent' });
const pools: Pool[] = [];
let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

function recorder(): { client: PoolClient; failures: PoolerError[]; attached: ServerConnection[] } {
  const failures: PoolerError[] = [];
  const attached: ServerConnection[] = [];
  return { failures, attached, client: { attachServer: (s) => attached.push(s), checkoutFailed: (e) => failures.push(e) } };
}

function makePool(port: number, suspicions: TargetSuspicion[], settings: Record<string, unknown> = {}): Pool {
  const target = { host: '127.0.0.1', port, database: 'db', user: 'u', password: 'p' };
  const pool = new Pool('t-one', target, poolSettingsSchema.parse({ connect_timeout: 1, checkout_timeout: 1, ...settings }), log, {
    suspectTarget: (_p, reason) => suspicions.push(reason),
  });
  pools.push(pool);
  return pool;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pool target suspicion', () => {
  it('keeps a waiter waiting while connects are refused, asks for fresh targets once, then times out with the connect error', async () => {
    const port = await freePort(); // nothing listens there
    const suspicions: TargetSuspicion[] = [];
    const pool = makePool(port, suspicions);
    const w = recorder();
    pool.acquire(w.client);
    await sleep(600);
    // Several refused attempts (backoff), no failure yet, one refresh request (rate-limited).
    expect(pool.totalServerConnectErrors).toBeGreaterThanOrEqual(2);
    expect(w.failures).toEqual([]);
    expect(suspicions).toEqual(['connect_failed']);
    await sleep(2000);
    expect(w.failures).toHaveLength(1);
    expect(w.failures[0]).toMatchObject({ code: 'SERVER_CONNECT_FAILED', fatal: false });
    expect(w.failures[0]!.detail).toMatch(/ECONNREFUSED|cannot connect/);
  });

  it('fails waiters at once when the server refuses the login for good (28P01)', async () => {
    server = createServer((s) => {
      sockets.push(s);
      s.once('data', () => s.end(msg.errorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed' })));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const suspicions: TargetSuspicion[] = [];
    const pool = makePool((server.address() as { port: number }).port, suspicions, { checkout_timeout: 30 });
    const w = recorder();
    pool.acquire(w.client);
    const deadline = Date.now() + 5000;
    while (w.failures.length === 0 && Date.now() < deadline) await sleep(20);
    expect(w.failures).toHaveLength(1);
    expect(w.failures[0]).toMatchObject({ code: 'SERVER_CONNECT_FAILED', detail: 'the server answered SQLSTATE 28P01' });
    expect(suspicions).toEqual([]);
  });

  it('asks for fresh targets on 25006 only, at most once per interval', async () => {
    const suspicions: TargetSuspicion[] = [];
    const pool = makePool(await freePort(), suspicions);
    pool.onServerSqlstate('23505');
    pool.onServerSqlstate('25006');
    pool.onServerSqlstate('25006');
    expect(suspicions).toEqual(['read_only']);
    expect(SUSPECT_INTERVAL_MS).toBeGreaterThan(0);
  });
});
