// Hostile tenant, LISTEN repeated inside one transaction (docs/transaction-mode.md, "LISTEN and
// NOTIFY": a LISTEN/UNLISTEN inside a transaction is staged and applied at commit). What the
// pooler keeps for a transaction's LISTEN/UNLISTENs must be bounded by the channels they name, not
// grow with the number of statements: a client that sends `LISTEN a` a million times in one
// transaction would otherwise grow the pooler (shared by every tenant) by one record each, and
// every ReadyForQuery after a failed one would scan them all for each channel the client holds.
import { describe, expect, it } from 'vitest';
import { ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { MAX_CLIENT_CHANNELS } from '../../pooler/src/frontend/notify-client.ts';
import { listenRig, notifyVia } from '../helpers/listen-rig.ts';

const rig = listenRig('listen-staged', ['t']);

describe('transaction mode: 30,000 LISTENs of one channel in one transaction', () => {
  it('the pooler keeps one staged action per channel; the LISTEN is in effect after COMMIT', async () => {
    const t = rig.tenants.t!;
    const p = await ProtocolClient.connect(rig.pooled(t));
    try {
      await p.request(query('BEGIN'));
      const n = 30_000;
      const one = query('LISTEN a');
      // In batches of 28 KB: a LISTEN split across two reads of the pooler is not recognised
      // (docs: "Not handled"), and refused; one write of this size arrives in one read.
      const batch = Buffer.concat(Array.from({ length: 2000 }, () => one));
      for (let sent = 0; sent < n; sent += 2000) {
        const replies = await p.request(batch);
        expect(replies.filter((m) => m.type === 'C').length).toBe(2000);
      }
      const pooled = rig.pooler.clientList().find((c) => c.listens !== null)!;
      const listens = pooled.listens as unknown as { staged?: unknown[]; stagedNet?: Map<string, boolean> };
      const kept = listens.staged?.length ?? listens.stagedNet!.size;
      expect(kept, `${kept} staged records for ${n} LISTENs of one channel`).toBeLessThanOrEqual(MAX_CLIENT_CHANNELS);
      await p.request(query('COMMIT'));
      await notifyVia(rig.direct(t), 'a', 'after commit');
      const got = await p.untilType('A');
      expect(got.at(-1)!.type).toBe('A');
    } finally {
      await p.end();
    }
  });
});
