// A transaction that LISTENs and NOTIFYs one channel gets its notification at commit: the tenant's
// listening connection may hear it before the pooler reads the transaction's ReadyForQuery on the
// client's server connection (PostgreSQL signals the listeners at commit, before the committing
// backend answers), and that copy must not be dropped for arriving "too early"
// (docs/transaction-mode.md, "LISTEN and NOTIFY"). Many rounds on fresh channels, so the race is
// lost at least once without the fix even on an idle machine.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, until } from '../helpers/clients.ts';
import { listenRig, recordNotifications } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-commit-race', ['t']);
const ROUNDS = 200;

describe('LISTEN and NOTIFY in one transaction, many rounds', () => {
  it('every round delivers its own notification', async () => {
    const client = await connectPg(rig.pooled(rig.tenants.t!));
    try {
      const got = recordNotifications(client);
      for (let i = 0; i < ROUNDS; i++) {
        await client.query('BEGIN');
        await client.query(`LISTEN own${i}`);
        await client.query(`NOTIFY own${i}, 'r${i}'`);
        await client.query('COMMIT');
      }
      // A sentinel on the last channel, after every round: once it is in, every round's is too.
      await client.query(`NOTIFY own${ROUNDS - 1}, 'end'`);
      try {
        await until(() => got.some((n) => n.payload === 'end'), 20_000, 'the sentinel');
      } catch {
        /* reported below, with what is missing */
      }
      const missing = Array.from({ length: ROUNDS }, (_, i) => `r${i}`).filter((p) => !got.some((n) => n.payload === p));
      expect(missing).toEqual([]);
      expect(got.length).toBe(ROUNDS + 1);
    }  finally {
      await endQuietly(client);
    }
  }, 120_000);
});
