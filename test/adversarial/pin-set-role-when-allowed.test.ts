// SET ROLE in transaction mode (issue 14 item 4): for a tenant with pool.pin_role the role stays
// in force across the client's transactions (the client is pinned) and RESET ROLE ends the pin;
// others never run under it. (Without pin_role it is wiped after the transaction, as before:
// adversarial/session-state-does-not-leak.)
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until, type PgClient } from '../helpers/clients.ts';
import { scrape, valueOr } from '../helpers/metrics.ts';
import { prepareLeaks } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('pin-role', { pool: { size: 2, max_pinned: 1, pin_role: true }, prepare: (pg, t) => prepareLeaks(pg, [t]) });

async function one<T>(c: PgClient, sql: string): Promise<T> {
  return Object.values((await c.query(sql)).rows[0] as Record<string, T>)[0]!;
}

describe('SET ROLE pins when the tenant allows it', () => {
  it('keeps the role across transactions until RESET ROLE', async () => {
    const owner = rig.tenant.destination.user;
    const a = await connectPg(rig.conn());
    const others = await Promise.all([connectPg(rig.conn()), connectPg(rig.conn())]);
    try {
      await a.query(`SET ROLE ${owner}_other`);
      for (let i = 0; i < 4; i++) {
        expect(await Promise.all(others.map((o) => one<string>(o, 'SELECT current_user')))).toEqual([owner, owner]);
        expect(await one<string>(a, 'SELECT current_user')).toBe(`${owner}_other`);
      }
      expect(valueOr(await scrape(rig.pooler.metricsPort), 'switchyard_pins_total', { tenant: rig.tenant.id, reason: 'role' }, 0)).toBe(1);
      await a.query('RESET ROLE');
      await until(async () => valueOr(await scrape(rig.pooler.metricsPort), 'switchyard_pinned_clients', { tenant: rig.tenant.id }, -1) === 0, 20_000, 'unpinned');
      expect(await one<string>(a, 'SELECT current_user')).toBe(owner);
    } finally {
      await Promise.all([a, ...others].map((c) => endQuietly(c)));
    }
  });
});
