// A server connection killed under a client (pg_terminate_backend from a superuser, as an
// operator or a failover would): that client gets an error rather than a hang — PostgreSQL's own
// 57P01 "terminating connection due to administrator command", as an ERROR in transaction mode
// (the client's session lives on in the pooler, its transaction is lost) and as the FATAL it is in
// session mode (the session was the server's) — its transaction is gone, and every other client
// keeps working while the pool replaces the lost connection.
import { describe, expect, it } from 'vitest';
import { backgroundErrorsOf, connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { destinationConn, superuserConn } from './helpers/tenants.ts';
import { poolerPerMode } from './helpers/pooler-per-mode.ts';

const HANG_MS = 20_000;

const env = poolerPerMode(
  'killed',
  { transaction: 2, session: 2 },
  async (_pg, tenants) => {
    for (const t of Object.values(tenants)) {
      const admin = await connectPg(destinationConn(t));
      await admin.query('CREATE TABLE events (who text NOT NULL, n int NOT NULL)');
      await admin.end();
    }
  },
  { checkout_timeout: 30 },
);
const tenants = env.tenants;

/** Terminates the backend and waits (up to 10 s) until it has exited: its FATAL has been sent by then. */
async function terminate(pid: number): Promise<void> {
  const admin = await connectPg(superuserConn(env.pg));
  try {
    const r = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1, 10000) AS ok', [pid]);
    expect(r.rows).toEqual([{ ok: true }]);
  } finally {
    await admin.end();
  }
}

/** One unit of "other" work: a short transaction whose result is checked. */
async function transaction(c: PgClient, who: string, n: number): Promise<void> {
  await c.query('BEGIN');
  await c.query('INSERT INTO events (who, n) VALUES ($1, $2)', [who, n]);
  const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE who = $1', [who]);
  expect(r.rows[0]?.n).toBe(n + 1);
  await c.query('COMMIT');
}

describe.each(['transaction', 'session'] as const)('%s mode', (mode) => {
  it('fails only the victim, promptly, and the pool recovers', async () => {
    const t = tenants[mode];
    const clients: PgClient[] = [];
    let killed = false;
    let stop = false;
    const afterKill = new Map<string, number>();
    const progress = new Map<string, number>();
    try {
      const victim = await connectPg(env.pooled(t), { application_name: `victim-${mode}` });
      clients.push(victim);
      await victim.query('BEGIN');
      await victim.query('INSERT INTO events (who, n) VALUES ($1, $2)', ['victim', 0]);
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

      // Others run on the remaining server connection before, during and after the kill.
      const others = Array.from({ length: 4 }, async (_, i) => {
        const who = `other-${i}`;
        let n = 0;
        let c: PgClient | undefined;
        while (!stop || (afterKill.get(who) ?? 0) < 3) {
          // Session mode: a session per unit of work, so the others take turns.
          c ??= await connectPg(env.pooled(t));
          if (!clients.includes(c)) clients.push(c);
          await transaction(c, who, n++);
          progress.set(who, n);
          if (killed) afterKill.set(who, (afterKill.get(who) ?? 0) + 1);
          if (mode === 'session') {
            expect(backgroundErrorsOf(c)).toEqual([]);
            await c.end();
            c = undefined;
          }
        }
        if (c) expect(backgroundErrorsOf(c)).toEqual([]);
        return n;
      });

      // Every other client has committed work on the remaining connection before the kill.
      await until(() => progress.size === 4, HANG_MS, 'the other clients’ first transactions');
      await terminate(pid);
      killed = true;

      const err = pgErrorInfo(await within(rejectionOf(victim.query('SELECT $1::int AS v', [1])), HANG_MS, 'the victim’s next query'));
      const background = backgroundErrorsOf(victim).map((e) => pgErrorInfo(e));
      const terminated = 'terminating connection due to administrator command';
      if (mode === 'transaction') {
        // The client's session lives on in the pooler: its next query is told, as an ERROR, that
        // the transaction is lost, with PostgreSQL's reason.
        expect(err).toEqual({ code: '57P01', severity: 'ERROR', message: terminated });
        expect(background).toEqual([]);
      } else {
        // The session was the server's: PostgreSQL's FATAL reaches the idle client first, as it
        // comes; the connection closes, and the driver refuses the next query. (The pooler then
        // adds a FATAL 08006 of its own, which the client no longer needs.)
        expect(background[0]).toEqual({ code: '57P01', severity: 'FATAL', message: terminated });
        expect(err).toEqual({ code: undefined, severity: undefined, message: 'Client has encountered a connection error and is not queryable' });
      }

      stop = true;
      const done = await within(Promise.all(others), HANG_MS * 2, 'the other clients’ work');
      expect(done.every((n) => n >= 3)).toBe(true);

      // The victim's transaction died with its backend; every other transaction committed.
      const admin = await connectPg(destinationConn(t));
      try {
        const rows = await admin.query<{ who: string; n: number }>('SELECT who, count(*)::int AS n FROM events GROUP BY who ORDER BY who');
        expect(rows.rows).toEqual(done.map((n, i) => ({ who: `other-${i}`, n })));
        const gone = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]);
        expect(gone.rows[0]?.n).toBe(0);
      } finally {
        await admin.end();
      }

      await endQuietly(victim);
      // New clients work, and two can hold transactions at once: the pool is back to full size.
      const fresh = [await connectPg(env.pooled(t)), await connectPg(env.pooled(t))];
      clients.push(...fresh);
      await Promise.all(fresh.map((c) => c.query('BEGIN')));
      const pids = await Promise.all(fresh.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
      expect(new Set(pids).size).toBe(2);
      expect(pids).not.toContain(pid);
      await Promise.all(fresh.map((c) => c.query('COMMIT')));
    } finally {
      stop = true;
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
