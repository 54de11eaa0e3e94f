// A planned switchover holds the read endpoint's transactions as it holds the tenant's own
// (docs/read-endpoints.md): with the tenant's pool setting `switchover_until` (what the local and
// AWS sources write while the cluster's targets carry a switching mark), a read transaction queues
// on its reader pool instead of running, and runs there once a reload ends the hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import type { PoolerConfigInput } from '../pooler/src/config/schema.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let client: PgClient | undefined;

function config(switchoverUntil?: string): PoolerConfigInput {
  const base = tenant.config;
  return poolerConfig([
    {
      ...base,
      pool: { ...base.pool, checkout_timeout: 60, ...(switchoverUntil !== undefined ? { switchover_until: switchoverUntil } : {}) },
      read_endpoint: { readers: [{ host: 'localhost', port: pg.port }] },
    },
  ]);
}

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'held-reads' });
  pooler = await startPooler(config(), { logger: testLogger() });
});

afterAll(async () => {
  await endQuietly(client);
  await pooler?.close();
  await pg?.stop();
});

const router = () => [...pooler!.readRouterList()][0]!;

describe('read endpoint during a planned switchover', () => {
  it('queues read transactions on the reader while the hold lasts, and runs them when it ends', async () => {
    client = await connectPg(poolerConn(pooler!, tenant, { database: `${tenant.clientDatabase}_ro` }));
    await until(async () => {
      await client!.query('SELECT 1');
      return router().routedToReader > 0;
    }, 30_000, 'a read transaction on the reader');
    const onReader = router().routedToReader;

    pooler!.reload(config(new Date(Date.now() + 120_000).toISOString()));
    let done = false;
    const held = client.query<{ v: number }>('SELECT 5 AS v').then((r) => {
      done = true;
      return r;
    });
    const reader = router().readerPools()[0]!.pool;
    await until(() => reader.stats().clientsWaiting === 1, 10_000, 'the read transaction held on the reader pool');
    expect(done).toBe(false);
    expect(router().routedToReader).toBe(onReader + 1);

    pooler!.reload(config());
    expect((await held).rows).toEqual([{ v: 5 }]);
  });
});
