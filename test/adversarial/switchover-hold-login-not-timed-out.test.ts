// A client that logs in during a planned switchover hold (docs/deploy.md "Planned switchover":
// "clients see a pause, not an error") waits for the switch like a queued transaction. The login
// needs the server's ParameterStatus values, which a pool that never had a connection (the
// tenant's first client on this pooler, e.g. one started during the switch) cannot have until it
// may connect again. The hold may last up to limits.switchover_timeout (default 60 s, RDS's
// Multi-AZ failovers take about that); the pooler's 30 s start-up timer used to end such a login
// with FATAL 08P01 "client did not complete start-up in time" — the client had completed it.
// Here the hold is set directly in the tenant's pool settings (`switchover_until`, what the local
// and AWS sources set from the published mark) and lasts past that 30 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, type PgClient } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
/** Longer than the 30 s start-up timer (frontend/login.ts LOGIN_TIMEOUT_MS). */
const HOLD_MS = 36_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'hold-login', pool: { mode: 'transaction', size: 2 } });
}, 120_000);

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
}, 60_000);

describe('a login during a planned switchover hold', () => {
  it('waits for the end of the hold and logs in, without an error', async () => {
    const until = new Date(Date.now() + HOLD_MS).toISOString();
    const config = { ...tenant.config, pool: { ...(tenant.config.pool ?? {}), switchover_until: until } };
    pooler = await startPooler(poolerConfig([config]), { logger: testLogger() });
    const started = Date.now();
    let client: PgClient | undefined;
    try {
      client = await connectPg(poolerConn(pooler, tenant), { connectionTimeoutMillis: 120_000 });
    } catch (err) {
      expect.fail(`the login failed during the hold after ${Date.now() - started} ms: ${JSON.stringify(pgErrorInfo(err))}`);
    }
    try {
      expect(Date.now() - started, 'the login waited for the hold').toBeGreaterThan(HOLD_MS - 5000);
      expect((await client.query<{ v: number }>('SELECT 1 AS v')).rows).toEqual([{ v: 1 }]);
    } finally {
      await endQuietly(client);
    }
  }, 120_000);
});
