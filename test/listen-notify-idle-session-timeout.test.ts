// The listening connection is idle by design (docs/transaction-mode.md, "LISTEN and NOTIFY"): it
// waits for notifications, not for queries. A database or role with idle_session_timeout (set by
// an operator to reap idle sessions, or by the tenant: ALTER ROLE ... SET needs no privilege for
// one's own role) must not end it every time it expires — each end loses the notifications of the
// gap and warns every listening client that some may have been missed.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, sleep } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotices, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { superuserConn } from './helpers/tenants.ts';

const rig = listenRig('listen-idle-timeout', ['t']);

describe('transaction mode, the tenant role has idle_session_timeout = 500ms', () => {
  it('the listening connection stays: no reconnect, no WARNING, the notification arrives', async () => {
    const t = rig.tenants.t!;
    const su = await connectPg(superuserConn(rig.pg));
    await su.query(`ALTER ROLE "${t.destination.user}" SET idle_session_timeout = '500ms'`);
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      const notices = recordNotices(client);
      await client.query('LISTEN idle');
      const listener = rig.pooler.listener(t.id)!;
      const connects = listener.connects;
      const pid = listener.processId;
      // Time must pass beyond the timeout (several times over): this waits for no event.
      await sleep(2500);
      await notifyVia(rig.direct(t), 'idle', 'still here');
      await untilNotified(got, 1, 'after the idle time');
      expect(got.map((n) => n.payload)).toEqual(['still here']);
      expect(notices.filter((n) => /missed/.test(n.message))).toEqual([]);
      expect(listener.connects).toBe(connects);
      expect(listener.processId).toBe(pid);
    } finally {
      await endQuietly(client);
      await su.query(`ALTER ROLE "${t.destination.user}" RESET idle_session_timeout`);
      await endQuietly(su);
    }
  });
});
