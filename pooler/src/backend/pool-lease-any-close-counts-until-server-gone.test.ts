// Every server connection the pool closes (RECONNECT's retire, max_lifetime, idle_timeout, a failed
// reset), not only one closed for a lowered share, counts against the fleet budget shares until its
// PostgreSQL backend is gone: else the pool (or another tenant's pool of the cluster, via the gate)
// opens its replacement while the old backend still holds a slot, and the fleet is above the budget in
// pg_stat_activity — the window pool-lease-closing-counts-until-server-gone.test.ts closed for
// lease_lowered only. A backend stopped with SIGSTOP makes the window deterministic.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, type PgClient } from '../../../test/helpers/clients.ts';
import { createDestination, superuserConn } from '../../../test/helpers/tenants.ts';
import { poolSettingsSchema } from '../config/schema.ts';
import type { PoolerError } from '../errors.ts';
import { Pool, type PoolClient } from './pool.ts';
import type { ServerConnection } from './server.ts';

class Client implements PoolClient {
  server: ServerConnection | undefined;
  attachServer(server: ServerConnection): void {
    this.server = server;
  }
  checkoutFailed(_err: PoolerError): void {}
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('pool: a connection closed for any reason', () => {
  let pg: PostgresServer;
  let admin: PgClient;
  let pool: Pool;

  beforeAll(async () => {
    pg = await startPostgres();
    const d = await createDestination(pg, { name: 'any_close_gone' });
    admin = await connectPg(superuserConn(pg));
    pool = new Pool('t-any-close', { host: d.host, port: d.port, database: d.database, user: d.user, password: d.password }, poolSettingsSchema.parse({ size: 2, checkout_timeout: 60 }), pino({ level: 'silent' }));
    pool.setLeaseSize(1);
  }, 120_000);

  afterAll(async () => {
    pool?.close();
    pool?.closeAllServers('shutdown');
    await endQuietly(admin);
    await pg?.stop();
  }, 60_000);

  it('a retired connection (RECONNECT) counts against the share until its backend has left pg_stat_activity', async () => {
    const a = new Client();
    pool.acquire(a);
    await until(() => a.server !== undefined, 30_000, 'a server connection');
    const pid = a.server!.processId;
    const b = new Client();
    pool.acquire(b); // queued: the share of 1 is in use
    process.kill(pid, 'SIGSTOP');
    try {
      pool.retireAll();
      pool.release(a.server!); // closed (retired), its backend cannot exit while stopped
      const t0 = Date.now();
      while (Date.now() - t0 < 1000) {
        expect(pool.leaseUsage, 'a stopped backend still holds its slot').toBe(1);
        expect(b.server, 'no replacement opened while the old backend is alive').toBeUndefined();
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until(() => b.server !== undefined, 30_000, 'the queued client to be served once the old backend is gone');
    expect((await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount).toBe(0);
    pool.release(b.server!);
  }, 120_000);
});
