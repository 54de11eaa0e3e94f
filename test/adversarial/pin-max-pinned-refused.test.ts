// pool.max_pinned is a real limit (issue 14 item 4): once that many clients are pinned, another
// client whose transaction leaves state that would pin it has that state discarded (the reset
// runs as for any client) and is ended with FATAL 53400 (TOO_MANY_PINNED) at its next request;
// the pinned client is unaffected, and nothing of the refused client's state reaches anyone.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('pin-max', { pool: { size: 3, max_pinned: 1 } });

async function one<T>(c: PgClient, sql: string): Promise<T> {
  return Object.values((await c.query(sql)).rows[0] as Record<string, T>)[0]!;
}

describe('max_pinned', () => {
  it('refuses a second pin with 53400 and discards its state', async () => {
    const first = await connectPg(rig.conn());
    const second = await connectPg(rig.conn());
    const others = await Promise.all([connectPg(rig.conn()), connectPg(rig.conn())]);
    try {
      await first.query('CREATE TEMP TABLE mine (x int)');
      await first.query('INSERT INTO mine VALUES (1)');
      await second.query('CREATE TEMP TABLE theirs (x int)');
      const err = pgErrorInfo(await rejectionOf(second.query('SELECT 1')));
      expect(err.code, err.message).toBe('53400');
      expect(err.severity).toBe('FATAL');
      expect(err.message).toMatch(/too many pinned clients/);
      // The pinned client goes on; the others never find the refused client's table.
      expect(await one<string>(first, 'SELECT count(*) FROM mine')).toBe('1');
      for (let i = 0; i < 4; i++) {
        const seen = await Promise.all(others.map((o) => one<boolean>(o, "SELECT to_regclass('pg_temp.theirs') IS NULL AND to_regclass('pg_temp.mine') IS NULL")));
        expect(seen).toEqual([true, true]);
      }
    } finally {
      await Promise.all([first, second, ...others].map((c) => endQuietly(c)));
    }
  });
});
