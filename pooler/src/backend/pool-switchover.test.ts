// A pool's hold during a planned switchover (backend/switchover.ts): while `switchover_until` is
// set and in the future, a checkout queues without opening anything and is not failed by
// checkout_timeout; a reload that clears it lets the queue go (to the target it brings), the
// deadline does the same by itself, and an admin RESUME does not end it. The target is a port
// where nothing listens: what matters is whether the pool tries to connect, and when.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../shared/src/local/postgres-server.ts';
import { poolSettingsSchema } from '../config/schema.ts';
import type { PoolerError } from '../errors.ts';
import { Pool, type PoolClient } from './pool.ts';
import type { SwitchoverOutcome } from './switchover.ts';

const log = pino({ level: 'silent' });
const pools: Pool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

async function setup(until: string | undefined) {
  const port = await freePort();
  const target = { host: '127.0.0.1', port, database: 'db', user: 'u', password: 'p' };
  const settings = (extra: Record<string, unknown> = {}) => poolSettingsSchema.parse({ connect_timeout: 1, checkout_timeout: 1, ...extra });
  const pool = new Pool('t-switch', target, settings(until ? { switchover_until: until } : {}), log);
  pools.push(pool);
  const ends: [number, SwitchoverOutcome][] = [];
  pool.switchObserver = (_t, seconds, outcome) => ends.push([seconds, outcome]);
  const failures: PoolerError[] = [];
  const client: PoolClient = { attachServer: () => undefined, checkoutFailed: (e) => failures.push(e) };
  return { pool, target, settings, ends, failures, client };
}

describe('pool: planned switchover hold', () => {
  it('queues a checkout past checkout_timeout without connecting; the reload that clears the mark lets it go', async () => {
    const s = await setup(inMs(30_000));
    s.pool.acquire(s.client);
    // maintain() runs every second; checkout_timeout is 1 s.
    await sleep(2500);
    expect(s.failures).toEqual([]);
    expect(s.pool.stats()).toMatchObject({ clientsWaiting: 1, switching: true, totalServerConnects: 0 });
    s.pool.resume(); // an admin RESUME does not end a switchover hold
    expect(s.pool.stats().totalServerConnects).toBe(0);

    s.pool.retarget({ ...s.target }, s.settings());
    expect(s.pool.stats()).toMatchObject({ switching: false });
    expect(s.pool.stats().totalServerConnects).toBe(1);
    expect(s.ends).toHaveLength(1);
    expect(s.ends[0]![1]).toBe('confirmed');
    expect(s.ends[0]![0]).toBeGreaterThan(2);
    // From now on the waiter has its checkout_timeout again (nothing listens: it fails then).
    await sleep(2500);
    expect(s.failures.map((e) => e.code)).toEqual(['SERVER_CONNECT_FAILED']);
  });

  it('ends by itself at the deadline (outcome timeout) and the queue goes on', async () => {
    const s = await setup(inMs(1200));
    s.pool.acquire(s.client);
    expect(s.pool.stats().totalServerConnects).toBe(0);
    const deadline = Date.now() + 10_000;
    while (s.ends.length === 0 && Date.now() < deadline) await sleep(50);
    expect(s.ends.map((e) => e[1])).toEqual(['timeout']);
    expect(s.pool.stats()).toMatchObject({ switching: false, totalServerConnects: 1 });
  });

  it('a login asking for server parameters during the hold opens nothing to the old writer and is not failed by checkout_timeout', async () => {
    const s = await setup(inMs(30_000));
    // A pool that never had a connection (the tenant's first client on this pooler): a login
    // needs the server's ParameterStatus values before it can be answered.
    let failed: unknown;
    let done = false;
    void s.pool.ensureServerParams().then(
      () => (done = true),
      (err: unknown) => (failed = err),
    );
    await sleep(2500);
    expect(s.pool.stats().totalServerConnects, 'nothing opens to the old writer during the hold').toBe(0);
    expect(failed, 'the login waits for the switch, not checkout_timeout').toBeUndefined();
    expect(done).toBe(false);
    // The hold ends: the login asks the new target (nothing listens there: it fails later, as any login would).
    s.pool.retarget({ ...s.target }, s.settings());
    expect(s.pool.stats().totalServerConnects).toBe(1);
  });

  it('a mark already past holds nothing', async () => {
    const s = await setup(inMs(-1000));
    s.pool.acquire(s.client);
    expect(s.pool.stats()).toMatchObject({ switching: false, totalServerConnects: 1 });
    expect(s.ends).toEqual([]);
  });
});
