// LISTEN/NOTIFY in transaction mode (docs/transaction-mode.md, "LISTEN and NOTIFY"): a client LISTENs
// through the pooler (node-postgres `client.on('notification')`), with a pool of one server
// connection shared by three clients; NOTIFYs sent through the pooler by another client and directly
// on PostgreSQL reach it — at once while it is idle, and after its transaction ends (not in the
// middle of it, as PostgreSQL delivers them between transactions) when it is in one.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, sleep } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';

const rig = listenRig('listen-delivered', ['t']);

describe('transaction mode, pool size 1', () => {
  it('a listening client gets NOTIFYs sent through the pooler and directly, while idle', async () => {
    const t = rig.tenants.t!;
    const listener = await connectPg(rig.pooled(t));
    const other = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(listener);
      const r = await listener.query('LISTEN orders');
      expect(r.command).toBe('LISTEN');
      // The other client keeps using the one server connection meanwhile.
      expect((await other.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
      await other.query("NOTIFY orders, 'through the pooler'");
      await untilNotified(got, 1, 'NOTIFY through the pooler');
      await notifyVia(rig.direct(t), 'orders', 'direct');
      await untilNotified(got, 2, 'NOTIFY directly on PostgreSQL');
      expect(got.map((n) => [n.channel, n.payload])).toEqual([
        ['orders', 'through the pooler'],
        ['orders', 'direct'],
      ]);
      // The listening client still runs transactions.
      expect((await listener.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await endQuietly(listener);
      await endQuietly(other);
    }
  });

  it('a client inside a transaction gets the notification after its transaction, not during it', async () => {
    const t = rig.tenants.t!;
    const listener = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(listener);
      await listener.query('LISTEN jobs');
      await listener.query('BEGIN');
      await listener.query('SELECT 1');
      // The transaction holds the pool's only server connection: NOTIFY directly.
      await notifyVia(rig.direct(t), 'jobs', 'during');
      // Give a wrongly eager delivery every chance to show (the assertion is that nothing came).
      await sleep(300);
      const duringTransaction = got.length;
      await listener.query('SELECT 2');
      expect(got.length).toBe(duringTransaction);
      await listener.query('COMMIT');
      await untilNotified(got, 1, 'after COMMIT');
      expect(duringTransaction).toBe(0);
      expect(got.map((n) => [n.channel, n.payload])).toEqual([['jobs', 'during']]);
    } finally {
      await endQuietly(listener);
    }
  });
});
