// Operator PAUSE of a tenant whose clients LISTEN (docs/admin.md, PAUSE: "Every server connection
// is closed ... and the command answers only when none is left, so the database behind can be
// restarted"). The tenant's listening connection is a server connection too: it closes with the
// PAUSE and is not re-opened while the pause lasts; after RESUME it is opened again, every channel
// LISTENed, and the listening clients are warned that notifications may have been missed.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotices, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { superuserConn } from './helpers/tenants.ts';

const rig = listenRig('listen-pause', ['t']);

describe('transaction mode: admin PAUSE and RESUME of a tenant with a listening client', () => {
  it('PAUSE leaves no listening connection on the database; RESUME listens again', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    const su = await connectPg(superuserConn(rig.pg));
    try {
      const got = recordNotifications(client);
      const notices = recordNotices(client);
      await client.query('LISTEN paused');
      const listener = rig.pooler.listener(t.id)!;
      const pid = listener.processId;
      expect(pid).toBeGreaterThan(0);
      const backends = async (): Promise<number> =>
        Number((await su.query('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [t.destination.user])).rows[0].n);
      await rig.pooler.admin.pause([t.id]);
      // PAUSE answered: nothing of the tenant's is left on the database (a backend ends a moment after its socket).
      await until(async () => (await backends()) === 0, 20_000, `no backend of the tenant after PAUSE (${await backends()} left)`);
      expect(listener.processId).toBe(0);
      rig.pooler.admin.resume([t.id]);
      await until(() => notices.some((n) => /missed/.test(n.message)), 30_000, 'the WARNING after RESUME');
      expect(listener.processId).not.toBe(pid);
      await notifyVia(rig.direct(t), 'paused', 'after resume');
      await untilNotified(got, 1, 'after RESUME');
      expect(got.map((n) => n.payload)).toEqual(['after resume']);
    } finally {
      await endQuietly(su);
      await endQuietly(client);
    }
  });
});
