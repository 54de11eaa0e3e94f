// A checkout that times out because of the fleet budgets (docs/fleet.md) says so: the pool's own
// size is not what limits it (a share of 0 while the lease is not renewed, or a tenant size
// smaller than the number of poolers), so "all `size` connections are busy, raise the pool size"
// would send the operator the wrong way. Nothing listens at the target: with a share of 0 the pool
// never tries to connect anyway.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../shared/src/local/postgres-server.ts';
import { poolSettingsSchema } from '../config/schema.ts';
import type { PoolerError } from '../errors.ts';
import { Pool, type PoolClient } from './pool.ts';

const log = pino({ level: 'silent' });
const pools: Pool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

describe('pool: checkout timeout under a fleet budget share', () => {
  it('names the share, not the pool size, as what is used up', async () => {
    const port = await freePort();
    const pool = new Pool('t-lease', { host: '127.0.0.1', port, database: 'db', user: 'u', password: 'p' }, poolSettingsSchema.parse({ size: 20, checkout_timeout: 1 }), log);
    pools.push(pool);
    pool.setLeaseSize(0);
    const failures: PoolerError[] = [];
    const client: PoolClient = { attachServer: () => undefined, checkoutFailed: (e) => failures.push(e) };
    pool.acquire(client);
    const deadline = Date.now() + 15_000;
    while (failures.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pool.stats().totalServerConnects).toBe(0);
    expect(failures.map((e) => e.code)).toEqual(['CHECKOUT_TIMEOUT']);
    expect(failures[0]!.detail).not.toMatch(/all 20 server connections/);
    expect(failures[0]!.detail).toMatch(/share of the fleet/);
  });
});
