// A read endpoint with two readers spreads concurrent transactions over both (docs/read-endpoints.md,
// "Where each transaction goes": least load, ties in turn): a primary and two streaming standbys,
// eight clients of the read endpoint each running short transactions at once. Every transaction
// lands on a standby (none on the primary once both are measured), and each standby takes at least
// a quarter of them. The distribution is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let primary: PostgresServer;
const standbys: PostgresServer[] = [];
let pooler: Pooler | undefined;
let tenant: TestTenant;
const clients: PgClient[] = [];

beforeAll(async () => {
  primary = await startPostgres();
  // Created before the standbys are cloned: role, database and password are on them too.
  tenant = await createTenant(primary, { id: 'spread-reads', pool: { mode: 'transaction', size: 4 } });
  for (let i = 0; i < 2; i++) standbys.push(await startPostgres({ standbyOf: { host: primary.host, port: primary.port } }));
  const readers = standbys.map((s) => ({ host: s.host, port: s.port }));
  pooler = await startPooler(poolerConfig([{ ...tenant.config, read_endpoint: { readers, max_replica_lag_ms: 5000 } }]), { logger: testLogger() });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await endQuietly(c);
  await pooler?.close();
  for (const s of standbys) await s.stop().catch(() => undefined);
  await primary?.stop();
});

const port = async (c: PgClient, sleep = 0): Promise<number> =>
  (await c.query<{ p: number }>(`SELECT inet_server_port() AS p, pg_sleep(${sleep})`)).rows[0]!.p;

describe('read endpoint balancing', () => {
  it('spreads concurrent read transactions over both readers, none to the writer', async () => {
    const conn = poolerConn(pooler!, tenant, { database: `${tenant.clientDatabase}_ro` });
    for (let i = 0; i < 8; i++) clients.push(await connectPg(conn));
    const ports = new Set(standbys.map((s) => s.port));
    // Both probes have a figure once each standby has served a transaction.
    const seen = new Set<number>();
    await until(async () => {
      for (const p of await Promise.all(clients.map((c) => port(c)))) if (ports.has(p)) seen.add(p);
      return seen.size === 2;
    }, 30_000, 'transactions on both standbys');

    const counts = new Map<number, number>();
    await Promise.all(
      clients.map(async (c) => {
        for (let k = 0; k < 10; k++) {
          const p = await port(c, 0.05);
          counts.set(p, (counts.get(p) ?? 0) + 1);
        }
      }),
    );
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`read endpoint balance: ${[...counts].map(([p, n]) => `${p === primary.port ? 'primary' : `standby ${p}`}: ${n}`).join(', ')} of ${total}`);
    expect(total).toBe(80);
    expect(counts.get(primary.port) ?? 0).toBe(0);
    for (const s of standbys) expect(counts.get(s.port) ?? 0, `standby ${s.port}`).toBeGreaterThanOrEqual(20);
  });
});
