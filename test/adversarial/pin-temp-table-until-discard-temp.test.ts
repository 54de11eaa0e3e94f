// A temporary table in transaction mode (issue 14 item 4): with pinning on (pool.max_pinned), the
// client that created it keeps its server connection — the table works across its transactions —
// while the other clients share the rest of the pool and never see it; DISCARD TEMP ends the pin
// and the connection goes back to the pool clean. The pin is counted (switchyard_pins_total,
// switchyard_pinned_clients) and shown (SHOW CLIENTS `pinned`).
import { describe, expect, it } from 'vitest';
import { adminRows } from '../helpers/admin.ts';
import { connectPg, endQuietly, type PgClient } from '../helpers/clients.ts';
import { scrape, valueOr } from '../helpers/metrics.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('pin-temp', { pool: { size: 2, max_pinned: 1 } });

async function one<T>(c: PgClient, sql: string): Promise<T> {
  return Object.values((await c.query(sql)).rows[0] as Record<string, T>)[0]!;
}

describe('a temporary table pins its client until DISCARD TEMP', () => {
  it('works across transactions, is never seen by others, and the pin ends with DISCARD TEMP', async () => {
    const a = await connectPg(rig.conn());
    const others = await Promise.all([connectPg(rig.conn()), connectPg(rig.conn()), connectPg(rig.conn())]);
    try {
      await a.query('CREATE TEMP TABLE kept (x int)');
      const pid = await one<number>(a, 'SELECT pg_backend_pid()');
      for (let i = 0; i < 5; i++) {
        await a.query(`INSERT INTO kept VALUES (${i})`);
        // The others meanwhile, several at once on the one connection left.
        const seen = await Promise.all(others.map((o) => one<boolean>(o, "SELECT to_regclass('pg_temp.kept') IS NULL")));
        expect(seen).toEqual([true, true, true]);
        for (const o of others) expect(await one<number>(o, 'SELECT pg_backend_pid()')).not.toBe(pid);
        expect(await one<number>(a, 'SELECT pg_backend_pid()')).toBe(pid);
      }
      expect(await one<string>(a, 'SELECT count(*) FROM kept')).toBe('5');
      const tenant = rig.tenant.id;
      let m = await scrape(rig.pooler.metricsPort);
      expect(valueOr(m, 'switchyard_pins_total', { tenant, reason: 'temp_table' }, 0)).toBe(1);
      expect(valueOr(m, 'switchyard_pinned_clients', { tenant }, 0)).toBe(1);
      const shown = await adminRows(rig.pooler, rig.admin, 'SHOW CLIENTS');
      expect(shown.filter((r) => r.database === tenant).map((r) => r.pinned).sort()).toEqual(['', '', '', 'temp_table']);
      // Inside an explicit transaction too.
      await a.query('BEGIN');
      await a.query('INSERT INTO kept VALUES (99)');
      await a.query('COMMIT');
      expect(await one<string>(a, 'SELECT count(*) FROM kept')).toBe('6');

      await a.query('DISCARD TEMP');
      // Unpinned: the others now get that connection too, and find nothing of a's there.
      const deadline = Date.now() + 20_000;
      let reached = false;
      while (!reached && Date.now() < deadline) {
        const r = await Promise.all(others.map(async (o) => [await one<number>(o, 'SELECT pg_backend_pid()'), await one<boolean>(o, "SELECT to_regclass('pg_temp.kept') IS NULL")] as const));
        for (const [p, clean] of r) {
          expect(clean).toBe(true);
          if (p === pid) reached = true;
        }
      }
      expect(reached, 'the unpinned connection went back to the pool').toBe(true);
      m = await scrape(rig.pooler.metricsPort);
      expect(valueOr(m, 'switchyard_pinned_clients', { tenant }, -1), 'reached once unpinned').toBe(0);
      expect(valueOr(m, 'switchyard_pins_total', { tenant, reason: 'temp_table' }, 0)).toBe(1);
    } finally {
      await Promise.all([a, ...others].map((c) => endQuietly(c)));
    }
  });
});
