// FleetLimits (fleet-limits.ts) places each pool under its cluster's gate. A tenant moved to
// another cluster (PATCH /tenants/{id} destination) whose clients queue because its old cluster's
// share was used up must get its connections under the new cluster's share at once — not wait for
// a release or a close that may never come (it has no connection left: the move retired them).
// Nothing listens at the target: what matters is whether the pool tries to connect.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../shared/src/local/postgres-server.ts';
import { poolSettingsSchema } from '../config/schema.ts';
import { FleetLimits } from './fleet-limits.ts';
import { Pool, type PoolClient } from './pool.ts';

const log = pino({ level: 'silent' });
const pools: Pool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

describe('fleet limits', () => {
  it('a pool queued at its old cluster’s gate opens under the new cluster’s share when its tenant moves', async () => {
    const port = await freePort();
    let cluster = 'old';
    const limits = new FleetLimits(() => cluster);
    limits.apply({ tenants: new Map([['t-move', 5]]), clusters: new Map([['old', 0], ['new', 5]]) });
    const pool = new Pool('t-move', { host: '127.0.0.1', port, database: 'db', user: 'u', password: 'p' }, poolSettingsSchema.parse({ checkout_timeout: 60 }), log);
    pools.push(pool);
    limits.attach(pool);
    const client: PoolClient = { attachServer: () => undefined, checkoutFailed: () => undefined };
    pool.acquire(client);
    expect(pool.stats().totalServerConnects, 'the old cluster has no room').toBe(0);
    cluster = 'new';
    limits.apply(limits.shares);
    expect(pool.gate?.clusterId).toBe('new');
    expect(pool.stats().totalServerConnects, 'the queued client gets a connection under the new cluster').toBe(1);
  });
});
