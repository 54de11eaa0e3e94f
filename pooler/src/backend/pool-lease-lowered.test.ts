// A lowered fleet budget share (docs/fleet.md, Pool.setLeaseSize) against a real PostgreSQL:
// connections above the share close as they are released, and queued clients go on with the
// connections the share still allows. Two ways the pool used to wedge its queue until
// checkout_timeout:
// - releases in quick succession each counted the connections already closing (their sockets not
//   closed yet) as still above the share, so every connection closed, not just the excess;
// - nothing grew the pool when a connection closed for the share finished closing, so a share
//   raised again meanwhile (a rebalance settling, a renewal after a fence) opened nothing.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../shared/src/local/postgres-server.ts';
import { createDestination } from '../../../test/helpers/tenants.ts';
import { poolSettingsSchema } from '../config/schema.ts';
import type { PoolerError } from '../errors.ts';
import { Pool, type PoolClient } from './pool.ts';
import type { ServerConnection } from './server.ts';

const log = pino({ level: 'silent' });
/** Far below checkout_timeout (60 s): a client that is not wedged gets its connection long before. */
const SERVED_WITHIN_MS = 15_000;

class Client implements PoolClient {
  server: ServerConnection | undefined;
  failed: PoolerError | undefined;
  attachServer(server: ServerConnection): void {
    this.server = server;
  }
  checkoutFailed(err: PoolerError): void {
    this.failed = err;
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('pool: a lowered fleet budget share', () => {
  let pg: PostgresServer;
  let target: { host: string; port: number; database: string; user: string; password: string };
  const pools: Pool[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    const d = await createDestination(pg, { name: 'lease_low' });
    target = { host: d.host, port: d.port, database: d.database, user: d.user, password: d.password };
  }, 120_000);

  afterAll(async () => {
    for (const p of pools) {
      p.close();
      p.closeAllServers('shutdown');
    }
    await pg?.stop();
  }, 60_000);

  const newPool = (size: number): Pool => {
    const pool = new Pool('t-lease-low', target, poolSettingsSchema.parse({ size, checkout_timeout: 60 }), log);
    pools.push(pool);
    return pool;
  };

  it('closes only the excess when busy connections are released together; the queue is served', async () => {
    const pool = newPool(4);
    const busy = [new Client(), new Client(), new Client(), new Client()];
    for (const c of busy) pool.acquire(c);
    await until(() => busy.every((c) => c.server !== undefined), SERVED_WITHIN_MS, 'four connections');
    const queued = [new Client(), new Client()];
    for (const c of queued) pool.acquire(c);
    pool.setLeaseSize(2);
    // The four transactions end in the same tick (no socket has closed yet).
    for (const c of busy) pool.release(c.server!);
    await until(() => queued.every((c) => c.server !== undefined || c.failed !== undefined), SERVED_WITHIN_MS, 'the queued clients to be served');
    expect(queued.map((c) => c.failed?.code)).toEqual([undefined, undefined]);
    // Served by two of the four released connections: only the excess closed, nothing reopened.
    expect(pool.stats().totalServerConnects).toBe(4);
    await until(() => pool.leaseUsage <= 2, SERVED_WITHIN_MS, 'the excess to finish closing');
    for (const c of queued) pool.release(c.server!);
  }, 60_000);

  it('a share raised while the connection closed for it is still closing: the queue gets a new one', async () => {
    const pool = newPool(1);
    const a = new Client();
    pool.acquire(a);
    await until(() => a.server !== undefined, SERVED_WITHIN_MS, 'a connection');
    const b = new Client();
    pool.acquire(b);
    pool.setLeaseSize(0);
    pool.release(a.server!); // closes for the share of 0; its socket closes a moment later
    pool.setLeaseSize(1); // raised again before that
    await until(() => b.server !== undefined || b.failed !== undefined, SERVED_WITHIN_MS, 'the queued client to be served');
    expect(b.failed).toBeUndefined();
    pool.release(b.server!);
  }, 60_000);
});
