// A tenant's max_clients counts the clients of both its endpoints: the read endpoint
// (`<database>_ro`) is no second allowance. With max_clients 2, one client on each endpoint fills
// it, and a third is refused with FATAL 53300 on either; a disconnect frees a slot for either.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, type PgClient } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'capped-reads', pool: { mode: 'transaction', size: 2, max_clients: 2 } });
  pooler = await startPooler(poolerConfig([{ ...tenant.config, read_endpoint: { readers: [{ host: 'localhost', port: pg.port }] } }]), { logger: testLogger() });
});

afterAll(async () => {
  for (const c of clients) await endQuietly(c);
  await pooler?.close();
  await pg?.stop();
});

describe('read endpoint and max_clients', () => {
  it('counts both endpoints against one max_clients', async () => {
    const writes = poolerConn(pooler!, tenant);
    const reads = poolerConn(pooler!, tenant, { database: `${tenant.clientDatabase}_ro` });
    const a = await connectPg(writes);
    const b = await connectPg(reads);
    clients.push(a, b);
    for (const conn of [reads, writes]) {
      const err = pgErrorInfo(await rejectionOf(connectPg(conn)));
      expect(err, conn.database).toMatchObject({ code: '53300', severity: 'FATAL' });
    }
    expect((await b.query<{ v: number }>('SELECT 1::int AS v')).rows).toEqual([{ v: 1 }]);
    await a.end();
    let c: PgClient | undefined;
    await until(async () => {
      c = await connectPg(reads).catch(() => undefined);
      return c !== undefined;
    }, 10_000, 'a slot freed by the disconnect');
    clients.push(c!);
  });
});
