// Hostile tenant, LISTEN/NOTIFY (docs/transaction-mode.md, "LISTEN and NOTIFY"): two tenants listen
// on the same channel name through one pooler; each tenant's notifications reach its own clients
// only — through its own listening connection, on its own database — never the other tenant's.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly } from '../helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-isolation', ['a', 'b']);

describe('transaction mode', () => {
  it('a NOTIFY of one tenant never reaches the other tenant’s clients', async () => {
    const a = rig.tenants.a!;
    const b = rig.tenants.b!;
    const ca = await connectPg(rig.pooled(a));
    const cb = await connectPg(rig.pooled(b));
    try {
      const gotA = recordNotifications(ca);
      const gotB = recordNotifications(cb);
      await ca.query('LISTEN shared');
      await cb.query('LISTEN shared');
      // Tenant b notifies (through the pooler and directly), then tenant a.
      const nb = await connectPg(rig.pooled(b));
      await nb.query("NOTIFY shared, 'from b via pooler'");
      await endQuietly(nb);
      await notifyVia(rig.direct(b), 'shared', 'from b direct');
      await untilNotified(gotB, 2, 'tenant b');
      await notifyVia(rig.pooled(a), 'shared', 'from a');
      await untilNotified(gotA, 1, 'tenant a');
      expect(gotA.map((n) => n.payload)).toEqual(['from a']);
      expect(gotB.map((n) => n.payload)).toEqual(['from b via pooler', 'from b direct']);
      // Each tenant has its own listening connection.
      const la = rig.pooler.listener(a.id)!;
      const lb = rig.pooler.listener(b.id)!;
      expect(la.processId).toBeGreaterThan(0);
      expect(lb.processId).toBeGreaterThan(0);
      expect(la.processId).not.toBe(lb.processId);
    } finally {
      await endQuietly(ca);
      await endQuietly(cb);
    }
  });
});
