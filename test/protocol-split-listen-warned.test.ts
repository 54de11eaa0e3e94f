// A LISTEN in transaction mode is refused with ERROR 0A000 — but when its CommandComplete reaches
// the pooler split across two reads, part of it has already gone to the client and cannot be
// turned into an error. The client must still be told: a WARNING 0A000 NoticeResponse follows, and
// the server connection is still un-listened before the next client gets it. The split is forced
// as in protocol-split-set-does-not-leak: PostgreSQL's 8,192-byte send buffer, a padded result and
// a pg_sleep after the LISTEN (0.5 s: long enough that even a busy pooler reads the first piece alone);
// several paddings around the exact one are tried.
import { describe, expect, it } from 'vitest';
import { ProtocolClient, endAll, errorFields, query, summarizeAll } from './helpers/raw-protocol.ts';
import { poolerPerMode } from './helpers/pooler-per-mode.ts';

const { tenants, pooled } = poolerPerMode('split-listen', { transaction: 1, session: 1 });

// Bytes before CommandComplete "LISTEN" (12 bytes): RowDescription (27) + DataRow (11 + N) +
// CommandComplete "SELECT 1" (14) = 52 + N; it straddles 8,192 for N = 8,129…8,139.
const EXACT = 8192 - 52 - 6;

describe('transaction mode', () => {
  it('a LISTEN whose reply is split across reads is followed by a WARNING 0A000, and is undone', async () => {
    const t = tenants.transaction;
    const clients: ProtocolClient[] = [];
    try {
      const a = await ProtocolClient.connect(pooled(t));
      const b = await ProtocolClient.connect(pooled(t));
      clients.push(a, b);
      let warned = 0;
      for (let n = EXACT - 3; n <= EXACT + 3; n++) {
        const msgs = await a.request(query(`SELECT repeat('x', ${n}) AS p; LISTEN split_channel; SELECT pg_sleep(0.5)`));
        const told = msgs.filter((m) => (m.type === 'E' || m.type === 'N') && errorFields(m.body).C === '0A000');
        // Told every time: refused outright (ERROR) or, when split, warned (NOTICE).
        expect(told.length, `padding ${n}: ${JSON.stringify(summarizeAll(msgs))}`).toBe(1);
        if (told[0]!.type === 'N') {
          warned++;
          expect(errorFields(told[0]!.body).S).toBe('WARNING');
        }
        // The next client of the only server connection is not listening.
        expect((await b.simple('SELECT count(*) FROM pg_listening_channels()'))[0]?.[0], `padding ${n}`).toBe('0');
      }
      // The split case really happened (else this test would prove nothing about it).
      expect(warned).toBeGreaterThan(0);
    } finally {
      await endAll(clients);
    }
  });
});
