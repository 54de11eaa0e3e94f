// What a transaction-mode client keeps is its session as its transaction left it (issue 14 item
// 1): a SET in a transaction that rolled back, a SET LOCAL, a SET undone by ROLLBACK TO SAVEPOINT
// are not kept; a SET in a committed transaction and one before a released savepoint are.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, type PgClient } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('set-rollback', { pool: { size: 1 } });

async function show(c: PgClient, name: string): Promise<string> {
  return (await c.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
}

describe('a SET is kept only as the transaction left it', () => {
  it('keeps committed SETs, drops rolled-back and local ones', async () => {
    const c = await connectPg(rig.conn());
    // Another client between each transaction, so every transaction of c starts on a connection
    // that was reset (pool size 1).
    const other = await connectPg(rig.conn());
    const between = (): Promise<unknown> => other.query('SELECT 1');
    try {
      await c.query("SET lock_timeout = '1234ms'");
      await between();
      await c.query('BEGIN');
      await c.query("SET lock_timeout = '9s'");
      await c.query('ROLLBACK');
      await between();
      expect(await show(c, 'lock_timeout')).toBe('1234ms');

      await c.query("BEGIN; SET LOCAL lock_timeout = '8s'; COMMIT");
      await between();
      expect(await show(c, 'lock_timeout')).toBe('1234ms');

      await c.query("BEGIN; SET lock_timeout = '3s'; SAVEPOINT a; SET lock_timeout = '7s'; ROLLBACK TO SAVEPOINT a; COMMIT");
      await between();
      expect(await show(c, 'lock_timeout')).toBe('3s');

      await c.query("BEGIN; SAVEPOINT b; SET work_mem = '5MB'; RELEASE SAVEPOINT b; COMMIT");
      await between();
      expect(await show(c, 'work_mem')).toBe('5MB');
      expect(await show(other, 'work_mem')).toBe('4MB');
      expect(await show(other, 'lock_timeout')).toBe('0');

      // RESET ALL and DISCARD ALL take it back to its start.
      await c.query('RESET ALL');
      await between();
      expect(await show(c, 'lock_timeout')).toBe('0');
      await c.query("SET lock_timeout = '2s'");
      await c.query('DISCARD ALL');
      await between();
      expect(await show(c, 'lock_timeout')).toBe('0');
    } finally {
      await Promise.all([endQuietly(c), endQuietly(other)]);
    }
  });
});
