// A listening client that leaves (Terminate, or its socket just closing) gives its channels back
// (docs/transaction-mode.md, "LISTEN and NOTIFY"): a channel another client still listens on stays
// LISTENed on the tenant's listening connection; one nobody listens on is UNLISTENed there; once no
// client listens, the listening connection is closed — seen from PostgreSQL (pg_stat_activity,
// and pg_listening_channels() as the listening backend reports it in its last query).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, socketOf, until } from './helpers/clients.ts';
import { destinationBackendPids } from './helpers/backends.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';
import { superuserConn } from './helpers/tenants.ts';

const rig = listenRig('listen-exit', ['t']);

async function lastQueryOf(pid: number): Promise<string | undefined> {
  const su = await connectPg(superuserConn(rig.pg));
  try {
    const r = await su.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [pid]);
    return r.rows[0]?.query;
  } finally {
    await endQuietly(su);
  }
}

describe('transaction mode, pool size 1', () => {
  it('clients leaving give their channels back, and the last one closes the listening connection', async () => {
    const t = rig.tenants.t!;
    const stays = await connectPg(rig.pooled(t));
    const leaves = await connectPg(rig.pooled(t));
    const vanishes = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(stays);
      await stays.query('LISTEN common');
      await leaves.query('LISTEN common');
      await leaves.query('LISTEN only_leaves');
      await vanishes.query('LISTEN only_vanishes');
      const listener = rig.pooler.listener(t.id)!;
      const pid = listener.processId;
      expect(listener.counts()).toEqual({ channels: 3, clients: 3 });

      await leaves.end(); // Terminate
      socketOf(vanishes).destroy(); // no Terminate
      await until(() => listener.counts().channels === 1, 20_000, 'channels given back');
      expect(listener.counts()).toEqual({ channels: 1, clients: 1 });
      // The listening backend ran the UNLISTENs (its last statement is one of them).
      await until(async () => /^UNLISTEN "only_(leaves|vanishes)"$/.test((await lastQueryOf(pid)) ?? ''), 20_000, 'UNLISTEN on the listening backend');
      // The channel still wanted still delivers.
      await notifyVia(rig.direct(t), 'common', 'still here');
      await untilNotified(got, 1, 'common');

      await stays.end();
      await until(async () => !(await destinationBackendPids(rig.pg, t)).includes(pid), 20_000, 'listening backend gone');
      expect(listener.counts()).toEqual({ channels: 0, clients: 0 });
      expect(listener.processId).toBe(0);
    } finally {
      await endQuietly(stays);
      await endQuietly(leaves);
      await endQuietly(vanishes);
    }
  });
});
