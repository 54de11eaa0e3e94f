// Pool.stats().maxWaitMs is how long the oldest queued client has waited, measured from when it
// queued: a reload that changes checkout_timeout (retarget() with new settings) must not change it.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { poolSettingsSchema } from '../config/schema.ts';
import { freePort } from '../../../shared/src/local/postgres-server.ts';
import { Pool, type PoolClient } from './pool.ts';

const log = pino({ level: 'silent' });
const pools: Pool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const client: PoolClient = { attachServer: () => {}, checkoutFailed: () => {} };

describe('Pool.stats().maxWaitMs', () => {
  it('is the oldest waiter\'s wait, unchanged by a reload that changes checkout_timeout', async () => {
    const port = await freePort(); // nothing listens: the client stays queued (connects retry with backoff)
    const target = { host: '127.0.0.1', port, database: 'db', user: 'u', password: 'p' };
    const pool = new Pool('t-wait', target, poolSettingsSchema.parse({ checkout_timeout: 60 }), log);
    pools.push(pool);
    const queuedAt = performance.now();
    pool.acquire(client);
    expect(pool.stats().clientsWaiting).toBe(1);

    // A reload shortens checkout_timeout (same target: the waiter stays queued).
    pool.retarget(target, poolSettingsSchema.parse({ checkout_timeout: 10 }));
    const upper = performance.now() - queuedAt;
    const { maxWaitMs, clientsWaiting } = pool.stats();
    expect(clientsWaiting).toBe(1);
    expect(maxWaitMs).toBeGreaterThanOrEqual(0);
    expect(maxWaitMs).toBeLessThanOrEqual(upper + 50);

    // A reload lengthening it must not make the wait negative either.
    pool.retarget(target, poolSettingsSchema.parse({ checkout_timeout: 120 }));
    expect(pool.stats().maxWaitMs).toBeGreaterThanOrEqual(0);
    expect(pool.stats().maxWaitMs).toBeLessThanOrEqual(performance.now() - queuedAt + 50);
  });

  it('is 0 with nobody waiting', () => {
    const pool = new Pool('t-none', { host: '127.0.0.1', port: 1, database: 'db', user: 'u', password: 'p' }, poolSettingsSchema.parse({}), log);
    pools.push(pool);
    expect(pool.stats().maxWaitMs).toBe(0);
  });
});
