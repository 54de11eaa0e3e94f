// Hostile tenant, LISTEN and UNLISTEN of its only channel in a loop (docs/transaction-mode.md,
// "LISTEN and NOTIFY": the listening connection is "closed as soon as no client listens"). Each
// LISTEN of a channel the tenant does not listen on waits for the listening connection; if the
// UNLISTEN before it closed that connection, every pair of statements costs a new server connection
// (a backend started, a SCRAM exchange on the pooler, shared with every tenant). A client must not
// be able to turn two cheap statements into a connection storm.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly } from '../helpers/clients.ts';
import { listenRig } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-unlisten-loop', ['t']);

describe('transaction mode: LISTEN a; UNLISTEN a; 40 times', () => {
  it('opens the listening connection once, not once per LISTEN', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      await client.query('LISTEN a');
      const listener = rig.pooler.listener(t.id)!;
      const before = listener.connects;
      for (let i = 0; i < 40; i++) {
        await client.query('UNLISTEN a');
        await client.query('LISTEN a');
      }
      const opened = listener.connects - before;
      expect(opened, `${opened} listening connections opened for 40 LISTEN/UNLISTEN pairs`).toBeLessThanOrEqual(2);
    } finally {
      await endQuietly(client);
    }
  });
});
