// UNLISTEN in transaction mode (docs/transaction-mode.md, "LISTEN and NOTIFY"): `UNLISTEN channel`
// stops delivery on that channel only, `UNLISTEN *` on all of them; once no client of the tenant
// listens, the tenant's listening connection is closed (no backend left behind on PostgreSQL).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { destinationBackendPids } from './helpers/backends.ts';

const rig = listenRig('listen-unlisten', ['t']);

describe('transaction mode, pool size 1', () => {
  it('UNLISTEN one channel, then UNLISTEN *', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      await client.query('LISTEN a');
      await client.query('LISTEN b');
      const listenerPid = rig.pooler.listener(t.id)?.processId ?? 0;
      expect(listenerPid).toBeGreaterThan(0);
      expect(await destinationBackendPids(rig.pg, t)).toContain(listenerPid);

      expect((await client.query('UNLISTEN a')).command).toBe('UNLISTEN');
      // In order on one connection: "a" first; only "b" may arrive.
      await notifyVia(rig.direct(t), 'a', '1');
      await notifyVia(rig.direct(t), 'b', '2');
      await untilNotified(got, 1, 'b');
      expect(got.map((n) => `${n.channel}:${n.payload}`)).toEqual(['b:2']);

      expect((await client.query('UNLISTEN *')).command).toBe('UNLISTEN');
      // No client listens any more: the listening connection is closed.
      await until(async () => !(await destinationBackendPids(rig.pg, t)).includes(listenerPid), 20_000, 'listening backend gone');
      await notifyVia(rig.direct(t), 'b', '3');
      // LISTEN again (a new listening connection) and a sentinel: "b:3" must not have come.
      await client.query('LISTEN sentinel');
      await notifyVia(rig.direct(t), 'sentinel', '4');
      await untilNotified(got, 2, 'sentinel');
      expect(got.map((n) => `${n.channel}:${n.payload}`)).toEqual(['b:2', 'sentinel:4']);
    } finally {
      await endQuietly(client);
    }
  });
});
