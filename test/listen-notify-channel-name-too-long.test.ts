// A LISTEN channel of NAMEDATALEN (64) bytes or more (docs/transaction-mode.md, "LISTEN and
// NOTIFY"): PostgreSQL would truncate it to 63 bytes with a NOTICE and listen there, while
// pg_notify() refuses such a name — so the pooler refuses it with ERROR 42622 (name_too_long,
// LISTEN_CHANNEL_NAME_TOO_LONG), between transactions (the session goes on) and inside a block
// (which then fails, as any error fails it on PostgreSQL). 63 bytes are fine.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from './helpers/clients.ts';
import { listenRig, notifyVia, recordNotifications, untilNotified } from './helpers/listen-rig.ts';

const rig = listenRig('listen-long', ['t']);

describe('transaction mode, pool size 1', () => {
  it('64 bytes: ERROR 42622, between transactions and inside a block; 63 bytes: listened', async () => {
    const t = rig.tenants.t!;
    const client = await connectPg(rig.pooled(t));
    try {
      const got = recordNotifications(client);
      const err = pgErrorInfo(await rejectionOf(client.query(`LISTEN ${'x'.repeat(64)}`)));
      expect(err).toMatchObject({ code: '42622', severity: 'ERROR', message: 'channel name too long' });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      await client.query('BEGIN');
      expect(pgErrorInfo(await rejectionOf(client.query(`LISTEN "${'é'.repeat(32)}"`))).code).toBe('42622');
      expect(pgErrorInfo(await rejectionOf(client.query('SELECT 1'))).code).toBe('25P02');
      expect((await client.query('COMMIT')).command).toBe('ROLLBACK');

      const longest = 'y'.repeat(63);
      await client.query(`LISTEN ${longest}`);
      await notifyVia(rig.direct(t), longest, 'fits');
      await untilNotified(got, 1, '63-byte channel');
      expect(got[0]).toMatchObject({ channel: longest, payload: 'fits' });
    } finally {
      await endQuietly(client);
    }
  });
});
