// The tenant's listening connection outlives what happens to its server session (docs/
// transaction-mode.md, "LISTEN and NOTIFY"): when its backend is terminated (a server restart, a
// failover) or the tenant's destination changes (a reload after a failover or a move), the pooler
// opens it again on the current destination and LISTENs every channel again; the listening clients
// stay connected, get one WARNING that notifications may have been missed meanwhile, and receive
// the notifications sent afterwards.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until } from './helpers/clients.ts';
import { startDelayingProxy } from './helpers/delaying-proxy.ts';
import { listenRig, notifyVia, recordNotices, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { poolerConfig, superuserConn } from './helpers/tenants.ts';

const rig = listenRig('listen-reconnect', ['t']);


describe('transaction mode, pool size 1', () => {
  it('its backend terminated: LISTENed again, clients warned, notifications flow again', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      const notices = recordNotices(client);
      await client.query('LISTEN a');
      await client.query('LISTEN "B b"');
      const listener = rig.pooler.listener(t.id)!;
      const before = listener.processId;
      const su = await connectPg(superuserConn(rig.pg));
      await su.query('SELECT pg_terminate_backend($1)', [before]);
      await endQuietly(su);
      await until(() => notices.some((n) => /missed/.test(n.message)), 30_000, 'the WARNING');
      expect(listener.processId).not.toBe(before);
      expect(listener.processId).toBeGreaterThan(0);
      await notifyVia(rig.direct(t), 'B b', 'after');
      await notifyVia(rig.direct(t), 'a', 'after too');
      await untilNotified(got, 2, 'after the reconnect');
      expect(got.map((n) => `${n.channel}:${n.payload}`)).toEqual(['B b:after', 'a:after too']);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await endQuietly(client);
    }
  });

  it('the destination changes (reload): the listening connection moves there', async () => {
    const t = rig.tenants.t!;
    const proxy = await startDelayingProxy({ host: t.destination.host, port: t.destination.port });
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      const notices = recordNotices(client);
      await client.query('LISTEN moved');
      const listener = rig.pooler.listener(t.id)!;
      const before = listener.processId;
      const target = { ...(t.config.target as Record<string, unknown>), port: proxy.port };
      rig.pooler.reload(poolerConfig([{ ...t.config, target } as typeof t.config]));
      await until(() => notices.some((n) => /missed/.test(n.message)), 30_000, 'the WARNING');
      expect(listener.processId).not.toBe(before);
      // Opened on the new destination (the proxy), not the old one.
      expect(proxy.accepted).toBe(1);
      await notifyVia(rig.direct(t), 'moved', 'there');
      await untilNotified(got, 1, 'after the move');
      expect(got[0]!.payload).toBe('there');
    } finally {
      await endQuietly(client);
      proxy.close();
    }
  });
});
