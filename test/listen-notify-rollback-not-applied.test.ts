// LISTEN/UNLISTEN in transaction mode follow PostgreSQL's transaction semantics (SQL reference,
// LISTEN: it "takes effect at transaction commit"): inside a transaction block that rolls back —
// ROLLBACK, a failed block, or COMMIT of a failed block — neither takes effect; inside one that
// commits, both do. Checked with a sentinel channel: NOTIFYs on the channel under test and then on
// the sentinel are committed together (PostgreSQL delivers a transaction's notifications in order),
// so once the sentinel arrives anything on the other channel would have arrived before it.
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from './helpers/clients.ts';
import { listenRig, recordNotifications, untilNotified } from './helpers/listen-rig.ts';

const rig = listenRig('listen-rollback', ['t']);

/** NOTIFY `channel` then the sentinel, in one transaction on PostgreSQL directly. */
async function notifyThenSentinel(channel: string, tag: string): Promise<void> {
  const c = await connectPg(rig.direct(rig.tenants.t!));
  try {
    await c.query(`BEGIN; SELECT pg_notify('${channel}', '${tag}'); SELECT pg_notify('sentinel', '${tag}'); COMMIT`);
  } finally {
    await c.end();
  }
}

/** Channels of the notifications with payload `tag` (the sentinel's included). */
function channelsOf(got: readonly pg.Notification[], tag: string): string[] {
  return got.filter((n) => n.payload === tag).map((n) => n.channel);
}

describe('transaction mode, pool size 1', () => {
  it('LISTEN in a rolled-back, a failed, and a committed transaction block', async () => {
    const client = await connectPg(rig.pooled(rig.tenants.t!));
    try {
      const got = recordNotifications(client);
      await client.query('LISTEN sentinel');

      await client.query('BEGIN');
      expect((await client.query('LISTEN rolled_back')).command).toBe('LISTEN');
      await client.query('ROLLBACK');
      await notifyThenSentinel('rolled_back', 'one');
      await untilNotified(got, 1, 'sentinel one');
      expect(channelsOf(got, 'one')).toEqual(['sentinel']);

      await client.query('BEGIN');
      await client.query('LISTEN failed_block');
      expect(pgErrorInfo(await rejectionOf(client.query('SELECT 1/0'))).code).toBe('22012');
      // COMMIT of a failed block is a ROLLBACK (PostgreSQL answers "ROLLBACK").
      expect((await client.query('COMMIT')).command).toBe('ROLLBACK');
      await notifyThenSentinel('failed_block', 'two');
      await untilNotified(got, 2, 'sentinel two');
      expect(channelsOf(got, 'two')).toEqual(['sentinel']);

      await client.query('BEGIN');
      await client.query('LISTEN committed');
      await client.query('SELECT 1');
      await client.query('COMMIT');
      await notifyThenSentinel('committed', 'three');
      await untilNotified(got, 4, 'committed and sentinel three');
      expect(channelsOf(got, 'three')).toEqual(['committed', 'sentinel']);
    } finally {
      await endQuietly(client);
    }
  });

  it('UNLISTEN in a rolled-back transaction block keeps the channel; committed, it ends it', async () => {
    const client = await connectPg(rig.pooled(rig.tenants.t!));
    try {
      const got = recordNotifications(client);
      await client.query('LISTEN sentinel');
      await client.query('LISTEN kept');

      await client.query('BEGIN');
      expect((await client.query('UNLISTEN kept')).command).toBe('UNLISTEN');
      await client.query('ROLLBACK');
      await notifyThenSentinel('kept', 'four');
      await untilNotified(got, 2, 'kept and sentinel four');
      expect(channelsOf(got, 'four')).toEqual(['kept', 'sentinel']);

      await client.query('BEGIN');
      await client.query('UNLISTEN kept');
      await client.query('COMMIT');
      await notifyThenSentinel('kept', 'five');
      await untilNotified(got, 3, 'sentinel five');
      expect(channelsOf(got, 'five')).toEqual(['sentinel']);
    } finally {
      await endQuietly(client);
    }
  });
});
