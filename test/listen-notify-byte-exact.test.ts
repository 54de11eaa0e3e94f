// LISTEN/NOTIFY through the pooler in transaction mode is, message for message and byte for byte,
// what a client of PostgreSQL itself receives: the replies to LISTEN/UNLISTEN (answered by the
// pooler between transactions, by the server inside a block), and each NotificationResponse —
// the notifying backend's pid, the channel as PostgreSQL folds it (quoted, mixed case, a double
// quote inside), the payload (UTF-8, empty, the 7,999-byte maximum).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly } from './helpers/clients.ts';
import { listenRig } from './helpers/listen-rig.ts';
import { ProtocolClient, endAll, query, type Msg } from './helpers/raw-protocol.ts';

const rig = listenRig('listen-exact', ['t']);

const STEPS = [
  'LISTEN "Mixed ""Case"" ch"',
  '  listen /* a comment */ plain_ch ;',
  'LISTEN plain_ch',
  'UNLISTEN not_listened',
  'BEGIN',
  'LISTEN in_block',
  'COMMIT',
  'LISTEN "ünïcödé"',
];

const hex = (msgs: readonly Msg[]): string[] => msgs.map((m) => `${m.type}:${m.body.toString('hex')}`);

/** The next `n` NotificationResponses (other messages between them are returned too). */
async function notifications(c: ProtocolClient, n: number): Promise<Msg[]> {
  const out: Msg[] = [];
  while (out.filter((m) => m.type === 'A').length < n) out.push(...(await c.untilType('A')));
  return out;
}

describe('transaction mode, pool size 1', () => {
  it('replies and notifications equal direct PostgreSQL’s', async () => {
    const t = rig.tenants.t!;
    const pooled = await ProtocolClient.connect(rig.pooled(t));
    const direct = await ProtocolClient.connect(rig.direct(t));
    const notifier = await connectPg(rig.direct(t));
    try {
      for (const sql of STEPS) {
        const want = hex(await direct.request(query(sql)));
        expect(hex(await pooled.request(query(sql))), sql).toEqual(want);
      }
      await notifier.query(
        `SELECT pg_notify('Mixed "Case" ch', 'payload ü €'), pg_notify('plain_ch', ''), pg_notify('in_block', repeat('x', 7999)), pg_notify('ünïcödé', 'ß')`,
      );
      const want = hex(await notifications(direct, 4));
      expect(want.filter((m) => m.startsWith('A:'))).toHaveLength(4);
      expect(hex(await notifications(pooled, 4))).toEqual(want);
      for (const sql of ['UNLISTEN *', 'SELECT 1']) {
        const w = hex(await direct.request(query(sql)));
        expect(hex(await pooled.request(query(sql))), sql).toEqual(w);
      }
    } finally {
      await endAll([pooled, direct]);
      await endQuietly(notifier);
    }
  });
});
