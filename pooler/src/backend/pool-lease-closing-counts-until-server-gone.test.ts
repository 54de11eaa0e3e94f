// A connection closed for a lowered fleet budget share (Pool.setLeaseSize) counts against the
// share until its PostgreSQL backend is gone, not merely until our Terminate is written: the budget
// lease acks (and another pooler raises and opens) once the usage fits, so a backend still exiting
// would put the fleet above the budget in pg_stat_activity (seen as 9 of 8 in
// test/adversarial/fleet-budget-never-exceeded.test.ts with --workers 2). A backend stopped with
// SIGSTOP makes the window deterministic: it cannot read the Terminate until SIGCONT.
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

describe('pool: a connection closed for a lowered share', () => {
  let pg: PostgresServer;
  let admin: PgClient;
  let pool: Pool;

  beforeAll(async () => {
    pg = await startPostgres();
    const d = await createDestination(pg, { name: 'lease_gone' });
    admin = await connectPg(superuserConn(pg));
    pool = new Pool('t-lease-gone', { host: d.host, port: d.port, database: d.database, user: d.user, password: d.password }, poolSettingsSchema.parse({ size: 1, checkout_timeout: 60 }), pino({ level: 'silent' }));
  }, 120_000);

  afterAll(async () => {
    pool?.close();
    pool?.closeAllServers('shutdown');
    await endQuietly(admin);
    await pg?.stop();
  }, 60_000);

  it('counts against the share until its backend has left pg_stat_activity', async () => {
    const c = new Client();
    pool.acquire(c);
    await until(() => c.server !== undefined, 30_000, 'a server connection');
    const pid = c.server!.processId;
    pool.release(c.server!);
    const alive = async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
    expect(await alive()).toBe(true);
    process.kill(pid, 'SIGSTOP');
    try {
      pool.setLeaseSize(0);
      // The backend cannot exit while stopped: for a whole second the share must still count it.
      const t0 = Date.now();
      while (Date.now() - t0 < 1000) {
        expect(pool.leaseUsage, 'a stopped backend still holds its slot').toBe(1);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until(() => pool.leaseUsage === 0, 30_000, 'the closed connection to stop counting');
    expect(await alive(), 'the backend is gone once the share no longer counts it').toBe(false);
  }, 120_000);
});
