// Hostile tenant, the listening connection killed over and over (docs/transaction-mode.md, "LISTEN
// and NOTIFY": "re-opened with backoff 100 ms → 5 s"): a tenant may terminate its own backends
// (pg_terminate_backend of a session of its role needs no privilege), the listening one included.
// Each reconnect costs the pooler a connection and a SCRAM exchange, shared with every tenant. The
// backoff must grow while the connection keeps dying, not start again at 100 ms because the
// connection was opened once more: a connection that dies as soon as it is up is a failure too.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, sleep } from '../helpers/clients.ts';
import { listenRig } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-backoff', ['t']);

describe('transaction mode: the tenant terminates its listening connection in a loop', () => {
  it('reconnects back off (at most a handful of connections in 5 s, not one every 100 ms)', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    const killer = await connectPg(rig.direct(t));
    try {
      await client.query('LISTEN a');
      const listener = rig.pooler.listener(t.id)!;
      const before = listener.connects;
      const start = Date.now();
      let killed = 0;
      let last = 0;
      // Polling, not synchronisation: the attack is "terminate it whenever it is there", for 5 s.
      while (Date.now() - start < 5000) {
        const pid = listener.processId;
        if (pid > 0 && pid !== last) {
          last = pid;
          await killer.query('SELECT pg_terminate_backend($1)', [pid]);
          killed++;
        }
        await sleep(10);
      }
      const opened = listener.connects - before;
      // 100 + 200 + 400 + 800 + 1600 ms of backoff (+ connect times) fit in 5 s: 5 or 6 connections.
      // Resetting the backoff at each successful connect gives one every ~100 ms + a connect (20+).
      expect(killed).toBeGreaterThan(0);
      expect(opened, `${opened} listening connections opened in 5 s (${killed} terminated)`).toBeLessThanOrEqual(8);
    } finally {
      await endQuietly(killer);
      await endQuietly(client);
    }
  });
});
