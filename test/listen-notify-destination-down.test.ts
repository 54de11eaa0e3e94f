// LISTEN while the tenant's destination cannot be reached (docs/transaction-mode.md, "LISTEN and
// NOTIFY"): the listening connection cannot be opened, so the LISTEN fails with ERROR 08006
// (LISTEN_UNAVAILABLE) — it did not take effect — and the client's session goes on; nothing keeps
// retrying once no client waits or listens. When the destination is back, LISTEN works.
import { describe, expect, it } from 'vitest';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, sleep } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { poolerConfig } from './helpers/tenants.ts';

const rig = listenRig('listen-down', ['t']);

describe('transaction mode, pool size 1', () => {
  it('destination unreachable: ERROR 08006, the session goes on; back: LISTEN works', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      const target = t.config.target as Record<string, unknown>;
      rig.pooler.reload(poolerConfig([{ ...t.config, target: { ...target, port: await freePort() } } as typeof t.config]));
      const err = pgErrorInfo(await rejectionOf(client.query('LISTEN unreachable')));
      expect(err).toMatchObject({ code: '08006', severity: 'ERROR' });
      expect(err.message).toMatch(/cannot connect to the database of tenant .* to LISTEN/);
      const listener = rig.pooler.listener(t.id)!;
      expect(listener.counts()).toEqual({ channels: 0, clients: 0 });
      // No client waits or listens: no retry loop against the unreachable destination.
      const connects = listener.connects;
      await sleep(1500);
      expect(listener.connects).toBe(connects);

      rig.pooler.reload(poolerConfig([t.config]));
      await client.query('LISTEN reachable');
      await notifyVia(rig.direct(t), 'reachable', 'yes');
      await untilNotified(got, 1, 'after the destination is back');
      expect(got.map((n) => n.channel)).toEqual(['reachable']);
    } finally {
      await endQuietly(client);
    }
  });
});
