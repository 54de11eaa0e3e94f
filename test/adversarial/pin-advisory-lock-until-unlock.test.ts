// A session advisory lock in transaction mode (issue 14 item 4), for a tenant with
// pool.pin_advisory_locks: the client that took it keeps its server connection, so the lock is
// still held in its later transactions (another session cannot take it); unlocking ends the pin.
// A WITH HOLD cursor pins the same way until it is closed.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until, type PgClient } from '../helpers/clients.ts';
import { scrape, valueOr } from '../helpers/metrics.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { destinationConn } from '../helpers/tenants.ts';

const rig = sessionRig('pin-lock', { pool: { size: 2, max_pinned: 1, pin_advisory_locks: true } });

/** The pinned gauge reaches `n` (the verdict comes after the client's reply: polled). */
async function pinnedBecomes(n: number): Promise<void> {
  await until(async () => valueOr(await scrape(rig.pooler.metricsPort), 'switchyard_pinned_clients', { tenant: rig.tenant.id }, -1) === n, 20_000, `${n} pinned`);
}

async function one<T>(c: PgClient, sql: string): Promise<T> {
  return Object.values((await c.query(sql)).rows[0] as Record<string, T>)[0]!;
}

describe('state that cannot be replayed pins until it is gone', () => {
  it('a session advisory lock stays held across transactions; unlocking ends the pin', async () => {
    const a = await connectPg(rig.conn());
    const other = await connectPg(rig.conn());
    const direct = await connectPg(destinationConn(rig.tenant));
    try {
      await a.query('SELECT pg_advisory_lock(4242)');
      const pid = await one<number>(a, 'SELECT pg_backend_pid()');
      for (let i = 0; i < 4; i++) {
        await other.query('SELECT 1');
        expect(await one<boolean>(direct, 'SELECT pg_try_advisory_lock(4242)')).toBe(false);
        expect(await one<number>(a, 'SELECT pg_backend_pid()')).toBe(pid);
        expect(await one<string>(a, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")).toBe('1');
      }
      const m = await scrape(rig.pooler.metricsPort);
      expect(valueOr(m, 'switchyard_pins_total', { tenant: rig.tenant.id, reason: 'advisory_lock' }, 0)).toBe(1);
      expect(await one<boolean>(a, 'SELECT pg_advisory_unlock(4242)')).toBe(true);
      await pinnedBecomes(0);
      expect(await one<boolean>(direct, 'SELECT pg_try_advisory_lock(4242)')).toBe(true);
    } finally {
      await Promise.all([endQuietly(a), endQuietly(other), endQuietly(direct)]);
    }
  });

  it('a WITH HOLD cursor can be fetched across transactions; CLOSE ends the pin', async () => {
    const a = await connectPg(rig.conn());
    const other = await connectPg(rig.conn());
    try {
      await a.query('BEGIN');
      await a.query('DECLARE held CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 10) g');
      await a.query('COMMIT');
      const got: number[] = [];
      for (let i = 0; i < 5; i++) {
        await other.query('SELECT 1');
        got.push(...(await a.query<{ g: number }>('FETCH 2 FROM held')).rows.map((r) => r.g));
      }
      expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await pinnedBecomes(1);
      await a.query('CLOSE held');
      await pinnedBecomes(0);
      expect(valueOr(await scrape(rig.pooler.metricsPort), 'switchyard_pins_total', { tenant: rig.tenant.id, reason: 'held_cursor' }, 0)).toBe(1);
    } finally {
      await Promise.all([endQuietly(a), endQuietly(other)]);
    }
  });
});
