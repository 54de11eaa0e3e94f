// A client that LISTENs and NOTIFYs the same channel in one transaction gets its notification once,
// as from PostgreSQL: the LISTEN also ran on the client's server connection (the server answered
// it), whose session therefore hears the NOTIFY at commit too — the pooler delivers only what the
// tenant's listening connection hears (docs/transaction-mode.md, "LISTEN and NOTIFY").
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';

const rig = listenRig('listen-own', ['t']);

describe('transaction mode, pool size 1', () => {
  it.each(['node-postgres, one query per statement', 'one Query string', 'after a named statement'])('LISTEN and NOTIFY in one transaction (%s): delivered once', async (how) => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      await client.query('LISTEN sentinel');
      // A named statement: from then on the client's messages go through its prepared session.
      if (how === 'after a named statement') expect((await client.query({ name: 'one', text: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }]);
      if (how === 'one Query string') {
        // BEGIN; LISTEN …; COMMIT in one Query: the LISTEN is not a statement of its own (refused), so LISTEN first.
        await client.query('LISTEN own');
        await client.query("BEGIN; NOTIFY own, 'mine'; COMMIT");
      } else {
        await client.query('BEGIN');
        await client.query('LISTEN own');
        await client.query("NOTIFY own, 'mine'");
        await client.query('COMMIT');
      }
      await notifyVia(rig.direct(t), 'sentinel', 'after');
      await untilNotified(got, 2, 'own and sentinel');
      expect(got.map((n) => `${n.channel}:${n.payload}`)).toEqual(['own:mine', 'sentinel:after']);
    } finally {
      await endQuietly(client);
    }
  });
});
