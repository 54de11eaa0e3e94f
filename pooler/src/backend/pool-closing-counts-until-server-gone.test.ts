// A server connection the pool closes counts against the fleet budget shares until its PostgreSQL
// backend is gone, not merely until our Terminate is written: the budget lease acks a lowered share
// once the usage fits (and another pooler then raises and opens), and a pool opens a replacement
// once a slot is free, so a backend still exiting would put the fleet above the budget in
// pg_stat_activity (seen as 9 of 8 in test/adversarial/fleet-budget-never-exceeded.test.ts). It
// holds for a connection closed for a lowered share and for any other close (RECONNECT's retire,
// max_lifetime, idle_timeout, a failed reset). A backend stopped with SIGSTOP makes the window
// deterministic: it cannot read the Terminate until SIGCONT.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until, type PgClient } from '../../../test/helpers/clients.ts';
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

let pg: PostgresServer;
let admin: PgClient;
const pools: Pool[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  admin = await connectPg(superuserConn(pg));
}, 120_000);

afterAll(async () => {
  for (const p of pools) {
    p.close();
    p.closeAllServers('shutdown');
  }
  await endQuietly(admin);
  await pg?.stop();
}, 60_000);

async function poolOf(name: string, size: number): Promise<Pool> {
  const d = await createDestination(pg, { name });
  const pool = new Pool(`t-${name}`, { host: d.host, port: d.port, database: d.database, user: d.user, password: d.password }, poolSettingsSchema.parse({ size, checkout_timeout: 60 }), pino({ level: 'silent' }));
  pools.push(pool);
  return pool;
}

const alive = async (pid: number): Promise<boolean> => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;

/** For a whole second with the backend stopped, `check` holds; then the backend may go on. */
async function whileStopped(pid: number, act: () => void, check: () => void): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  try {
    act();
    const t0 = Date.now();
    while (Date.now() - t0 < 1000) {
      check();
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

describe('pool: a closed server connection counts against the share until its backend is gone', () => {
  it('closed for a lowered share', async () => {
    const pool = await poolOf('lease_gone', 1);
    const c = new Client();
    pool.acquire(c);
    await until(() => c.server !== undefined, 30_000, 'a server connection');
    const pid = c.server!.processId;
    pool.release(c.server!);
    expect(await alive(pid)).toBe(true);
    await whileStopped(
      pid,
      () => pool.setLeaseSize(0),
      () => expect(pool.leaseUsage, 'a stopped backend still holds its slot').toBe(1),
    );
    await until(() => pool.leaseUsage === 0, 30_000, 'the closed connection to stop counting');
    expect(await alive(pid), 'the backend is gone once the share no longer counts it').toBe(false);
  }, 120_000);

  it('retired (RECONNECT): no replacement opens while the old backend is alive', async () => {
    const pool = await poolOf('any_close_gone', 2);
    pool.setLeaseSize(1);
    const a = new Client();
    pool.acquire(a);
    await until(() => a.server !== undefined, 30_000, 'a server connection');
    const pid = a.server!.processId;
    const b = new Client();
    pool.acquire(b); // queued: the share of 1 is in use
    await whileStopped(
      pid,
      () => {
        pool.retireAll();
        pool.release(a.server!); // closed (retired); its backend cannot exit while stopped
      },
      () => {
        expect(pool.leaseUsage, 'a stopped backend still holds its slot').toBe(1);
        expect(b.server, 'no replacement opened while the old backend is alive').toBeUndefined();
      },
    );
    await until(() => b.server !== undefined, 30_000, 'the queued client to be served once the old backend is gone');
    expect(await alive(pid)).toBe(false);
    pool.release(b.server!);
  }, 120_000);
});
