// A session-level SET whose CommandComplete reaches the pooler split across two reads must still
// be undone before the next client gets the server connection (transaction mode, ONE server
// connection, two clients). PostgreSQL sends its output in 8,192-byte pieces (PqSendBuffer) and
// flushes the rest only at the end of the query: with a result padded so that CommandComplete
// "SET" straddles the 8,192nd byte and a pg_sleep after it, the first piece ends inside that
// message and its last bytes arrive 200 ms later in another read — every time, not by chance.
// Several paddings around the exact one are tried, so a server whose message sizes differ by a
// few bytes still gets a straddling run; and the test checks that at least one run really was
// split: the client itself receives CommandComplete "SET" in two reads (the pooler forwards each
// server read as it comes, so it can only have received it in two reads as well).
import { describe, expect, it } from 'vitest';
import { ProtocolClient, endAll, parse, query, rows, summarizeAll, sync, type Msg } from './helpers/raw-protocol.ts';
import { poolerPerMode } from './helpers/pooler-per-mode.ts';

const { tenants, pooled } = poolerPerMode('split-set', { transaction: 1, session: 1 });

// Bytes before CommandComplete "SET": RowDescription (27) + DataRow (11 + N) + CommandComplete
// "SELECT 1" (14) = 52 + N; the 9-byte CommandComplete "SET" straddles 8,192 for N = 8,132…8,139.
const EXACT = 8192 - 52 - 4;

/** Records where each read of `c`'s socket ends, counted in bytes from now on. */
function readBoundaries(c: ProtocolClient): { ends: number[]; stop: () => void } {
  let total = 0;
  const ends: number[] = [];
  const onData = (chunk: Buffer): void => {
    total += chunk.length;
    ends.push(total);
  };
  c.socket.on('data', onData);
  return { ends, stop: () => c.socket.off('data', onData) };
}

/** Whether a read ended inside the CommandComplete "SET" among `msgs` (received from offset 0). */
function setReplySplit(msgs: readonly Msg[], ends: readonly number[]): boolean {
  let off = 0;
  for (const m of msgs) {
    const end = off + 5 + m.body.length;
    if (m.type === 'C' && m.body.toString('latin1') === 'SET\0') return ends.some((e) => e > off && e < end);
    off = end;
  }
  throw new Error(`no CommandComplete "SET" in ${JSON.stringify(summarizeAll(msgs))}`);
}

describe('transaction mode', () => {
  // "tracked": the client prepared a named statement first, so the pooler follows its messages one
  // by one (frontend/prepared-session.ts) instead of forwarding whole chunks; both paths must see the SET.
  it.each(['fast path', 'tracked'])('a SET whose CommandComplete is split across reads does not leak to the next client (%s)', async (path) => {
    const t = tenants.transaction;
    const clients: ProtocolClient[] = [];
    try {
      const a = await ProtocolClient.connect(pooled(t));
      const b = await ProtocolClient.connect(pooled(t));
      clients.push(a, b);
      if (path === 'tracked') expect((await a.request(parse('named_1', 'SELECT 1'), sync())).map((m) => m.type)).toEqual(['1', 'Z']);
      const pid = async (c: ProtocolClient): Promise<string> => (await c.simple('SELECT pg_backend_pid()'))[0]![0]!;
      const serverPid = await pid(a);
      let split = 0;
      for (let n = EXACT - 3; n <= EXACT + 3; n++) {
        const ms = String(1000 + n);
        const reads = readBoundaries(a);
        const msgs = await a.request(query(`SELECT repeat('x', ${n}) AS p; SET statement_timeout = ${ms}; SELECT pg_sleep(0.2)`));
        reads.stop();
        expect(msgs.filter((m) => m.type === 'E'), `padding ${n}`).toEqual([]);
        expect(rows(msgs)[0]?.[0]?.length, `padding ${n}`).toBe(n);
        if (setReplySplit(msgs, reads.ends)) split++;
        // The other client, on the same (only) server connection, sees the server's default.
        expect(await pid(b)).toBe(serverPid);
        expect((await b.simple('SHOW statement_timeout'))[0]?.[0], `padding ${n}: client A's SET leaked`).toBe('0');
      }
      // The split case really happened (else this test would prove nothing about it).
      expect(split).toBeGreaterThan(0);
    } finally {
      await endAll(clients);
    }
  });
});
