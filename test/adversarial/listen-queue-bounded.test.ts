// Hostile tenant, notifications to a client that does not take them (docs/transaction-mode.md,
// "LISTEN and NOTIFY"): a client that stays in a transaction, or does not read its socket, while
// notifications keep coming must not grow the pooler without bound. Each client's queue is bounded
// (MAX_QUEUED_NOTIFICATIONS, MAX_QUEUED_NOTIFICATION_BYTES); past it the oldest are dropped, the
// client gets one WARNING saying how many before the rest, and the drops are counted in
// switchyard_notifications_dropped_total. Nothing is written to a socket that holds more than
// OUTPUT_HIGH_WATER unread.
import { describe, expect, it } from 'vitest';
import { OUTPUT_HIGH_WATER } from '../../pooler/src/net/backpressure.ts';
import { MAX_QUEUED_NOTIFICATION_BYTES, MAX_QUEUED_NOTIFICATIONS } from '../../pooler/src/frontend/notify-client.ts';
import { connectPg, endQuietly, socketOf, until } from '../helpers/clients.ts';
import { listenRig, recordNotices, recordNotifications, untilNotified } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-bounded', ['t']);


async function notifyMany(channel: string, count: number, payloadBytes: number): Promise<void> {
  const c = await connectPg(rig.direct(rig.tenants.t!));
  try {
    // Distinct payloads: PostgreSQL folds identical notifications of one transaction into one.
    await c.query(`SELECT pg_notify($1, lpad(i::text, $3, '0')) FROM generate_series(1, $2) AS i`, [channel, count, payloadBytes]);
  } finally {
    await c.end();
  }
}

describe('transaction mode, pool size 1', () => {
  it('a client in a long transaction: the oldest are dropped past the count bound, and it is warned', async () => {
    const client = await connectPg(rig.pooled(rig.tenants.t!));
    try {
      const got = recordNotifications(client);
      const notices = recordNotices(client);
      await client.query('LISTEN flood');
      await client.query('BEGIN');
      const extra = 500;
      await notifyMany('flood', MAX_QUEUED_NOTIFICATIONS + extra, 8);
      // All of them reached the pooler's queue for this client (the listener has fanned them out).
      const listener = rig.pooler.listener(rig.tenants.t!.id)!;
      await until(() => listener.dropped >= extra, 30_000, 'drops counted');
      await client.query('COMMIT');
      await untilNotified(got, MAX_QUEUED_NOTIFICATIONS, 'the kept notifications', 60_000);
      expect(got.length).toBe(MAX_QUEUED_NOTIFICATIONS);
      // The newest were kept, in order.
      expect(got[0]!.payload).toBe(String(extra + 1).padStart(8, '0'));
      expect(got.at(-1)!.payload).toBe(String(MAX_QUEUED_NOTIFICATIONS + extra).padStart(8, '0'));
      const warning = notices.find((n) => /dropped/.test(n.message));
      expect(warning?.severity).toBe('WARNING');
      expect(warning?.message).toBe(`${extra} notifications were dropped`);
    } finally {
      await endQuietly(client);
    }
  });

  it('a client that does not read: the pooler holds at most the bounds for it', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      const notices = recordNotices(client);
      await client.query('LISTEN big');
      socketOf(client).pause();
      const listener = rig.pooler.listener(t.id)!;
      const droppedBefore = listener.dropped;
      // 32 MB of notifications: more than the kernel's socket buffers and both pooler bounds.
      await notifyMany('big', 4000, 7999);
      await until(() => listener.dropped > droppedBefore, 60_000, 'drops for the client that does not read');
      const pooled = rig.pooler.clientList().find((c) => c.listens?.active.has('big'))!;
      expect(pooled.socket.writableLength).toBeLessThanOrEqual(OUTPUT_HIGH_WATER + 8 * 1024);
      expect(pooled.listens!.queuedBytes).toBeLessThanOrEqual(MAX_QUEUED_NOTIFICATION_BYTES);
      socketOf(client).resume();
      await until(() => notices.some((n) => /dropped/.test(n.message)), 60_000, 'the WARNING');
      // The client is intact: the last notification arrives, then a query works.
      await until(() => got.at(-1)?.payload === '4000'.padStart(7999, '0'), 60_000, 'the last notification');
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(got.length).toBeLessThan(4000);
    } finally {
      await endQuietly(client);
    }
  });
});
