// A client that vanishes inside a transaction (socket destroyed, no Terminate): its transaction is
// rolled back, and the server connection goes back to the pool clean. With one server connection
// the next client necessarily gets that same connection, so any leaked state (an open or aborted
// transaction, in session mode a SET) would show up in its queries.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, socketOf, until, within, type PgClient } from './helpers/clients.ts';
import { destinationConn, type TestTenant } from './helpers/tenants.ts';
import { poolerPerMode } from './helpers/pooler-per-mode.ts';

const HANG_MS = 20_000;

const env = poolerPerMode(
  'vanish',
  { transaction: 1, session: 1 },
  async (_pg, tenants) => {
    for (const t of Object.values(tenants)) {
      const admin = await connectPg(destinationConn(t));
      await admin.query('CREATE TABLE rows_written (who text NOT NULL)');
      await admin.end();
    }
  },
  { checkout_timeout: 30 },
);
const tenants = env.tenants;

/** Destroys the client's socket without a Terminate message, as a crashed process would. */
function vanish(client: PgClient): void {
  socketOf(client).destroy();
}

/** Whether a pg_sleep runs on one of the tenant's backends now (seen from PostgreSQL). */
async function sleepRunning(t: TestTenant): Promise<boolean> {
  const admin = await connectPg(destinationConn(t));
  try {
    const r = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
      [t.destination.user],
    );
    return (r.rows[0]?.n ?? 0) > 0;
  } finally {
    await admin.end();
  }
}

/** The next client on the (single) server connection: it must find a clean, idle session. */
async function expectCleanNextClient(t: TestTenant, vanished: string): Promise<void> {
  const next = await connectPg(env.pooled(t));
  try {
    // In a leaked transaction, now() would be the old transaction's start, not this statement's.
    const fresh = await within(
      next.query<{ fresh: boolean; timeout: string }>("SELECT now() = statement_timestamp() AS fresh, current_setting('statement_timeout') AS timeout"),
      HANG_MS,
      'the next client’s first query',
    );
    expect(fresh.rows).toEqual([{ fresh: true, timeout: '0' }]);
    await next.query('INSERT INTO rows_written (who) VALUES ($1)', [`after-${vanished}`]);
    const seen = await next.query<{ who: string }>('SELECT who FROM rows_written WHERE who IN ($1, $2) ORDER BY who', [vanished, `after-${vanished}`]);
    expect(seen.rows).toEqual([{ who: `after-${vanished}` }]);
  } finally {
    await next.end();
  }
  // Seen from outside the pooler: the vanished client's row never committed, the next one did,
  // and no backend of this role is left inside a transaction.
  const admin = await connectPg(destinationConn(t));
  try {
    const rows = await admin.query<{ who: string }>('SELECT who FROM rows_written WHERE who IN ($1, $2) ORDER BY who', [vanished, `after-${vanished}`]);
    expect(rows.rows).toEqual([{ who: `after-${vanished}` }]);
    const open = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state LIKE 'idle in transaction%'",
      [t.destination.user],
    );
    expect(open.rows[0]?.n).toBe(0);
  } finally {
    await admin.end();
  }
}

describe.each(['transaction', 'session'] as const)('%s mode, one server connection', (mode) => {
  it('rolls back an open transaction when the client vanishes', async () => {
    const t = tenants[mode];
    const who = `${mode}-open`;
    const a = await connectPg(env.pooled(t));
    try {
      await a.query('BEGIN');
      await a.query('INSERT INTO rows_written (who) VALUES ($1)', [who]);
      // Session state that must not reach the next client (only meaningful in session mode).
      await a.query("SET statement_timeout = '4321ms'");
      // So that a leaked transaction's now() differs from the next statement's: the clock has moved.
      await until(async () => (await a.query<{ moved: boolean }>("SELECT clock_timestamp() - now() > interval '1 millisecond' AS moved")).rows[0]!.moved, HANG_MS, 'the clock to move past the transaction start');
      vanish(a);
    } finally {
      await endQuietly(a);
    }
    await expectCleanNextClient(t, who);
  });

  it('cleans up an aborted transaction (error, no ROLLBACK) when the client vanishes', async () => {
    const t = tenants[mode];
    const who = `${mode}-aborted`;
    const a = await connectPg(env.pooled(t));
    try {
      await a.query('BEGIN');
      await a.query('INSERT INTO rows_written (who) VALUES ($1)', [who]);
      await a.query('SELECT 1/0').catch(() => undefined);
      vanish(a);
    } finally {
      await endQuietly(a);
    }
    await expectCleanNextClient(t, who);
  });

  it('cleans up when the client vanishes while its query is still running', async () => {
    const t = tenants[mode];
    const who = `${mode}-running`;
    const a = await connectPg(env.pooled(t));
    try {
      await a.query('BEGIN');
      await a.query('INSERT INTO rows_written (who) VALUES ($1)', [who]);
      const running = a.query('SELECT pg_sleep(1)').catch(() => undefined);
      await until(() => sleepRunning(t), HANG_MS, 'the pg_sleep to be running on the server');
      vanish(a);
      await running;
    } finally {
      await endQuietly(a);
    }
    await expectCleanNextClient(t, who);
  });
});
