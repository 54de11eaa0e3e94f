// LISTEN/NOTIFY metrics (docs/metrics.md): per tenant, the clients listening and the channels the
// tenant's listening connection holds (gauges), the notifications delivered to clients and dropped
// from full client queues (counters).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { parseExposition, valueOr } from './helpers/metrics.ts';

const rig = listenRig('listen-metrics', ['t']);

async function metric(name: string, tenant: string): Promise<number> {
  const text = await rig.pooler.metricsRegistry().metrics();
  return valueOr(parseExposition(text), name, { tenant }, 0);
}

describe('transaction mode, pool size 1', () => {
  it('listening clients, channels, notifications delivered and dropped', async () => {
    const t = rig.tenants.t!;
    const a = await connectPg(rig.pooled(t));
    const b = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(a);
      await a.query('LISTEN m1');
      await a.query('LISTEN m2');
      await b.query('LISTEN m2');
      expect(await metric('switchyard_listen_clients', t.id)).toBe(2);
      expect(await metric('switchyard_listen_channels', t.id)).toBe(2);
      await notifyVia(rig.direct(t), 'm1', 'x');
      await untilNotified(got, 1, 'm1');
      await until(async () => (await metric('switchyard_notifications_delivered_total', t.id)) === 1, 20_000, 'delivered counted');
      // b sits in a transaction while 10,001 notifications arrive: one is dropped from its queue.
      await b.query('BEGIN');
      const n = await connectPg(rig.direct(t));
      await n.query(`SELECT pg_notify('m2', i::text) FROM generate_series(1, 10001) AS i`);
      await endQuietly(n);
      await until(async () => (await metric('switchyard_notifications_dropped_total', t.id)) === 1, 20_000, 'dropped counted');
      await b.query('COMMIT');
      await b.end();
      await until(async () => (await metric('switchyard_listen_clients', t.id)) === 1, 20_000, 'b gone');
    } finally {
      await endQuietly(a);
      await endQuietly(b);
    }
  });
});
