// A session-level SET whose CommandComplete reaches the pooler split across two reads must still
// be undone before the next client gets the server connection (transaction mode, ONE server
// connection, two clients). PostgreSQL sends its output in 8,192-byte pieces (PqSendBuffer) and
// flushes the rest only at the end of the query: with a result padded so that CommandComplete
// "SET" straddles the 8,192nd byte and a pg_sleep after it, the first piece ends inside that
// message and its last bytes arrive 200 ms later in another read — every time, not by chance.
// Several paddings around the exact one are tried, so a server whose message sizes differ by a
// few bytes still gets a straddling run.
import { describe, expect, it } from 'vitest';
import { ProtocolClient, endAll, parse, sync } from './helpers/raw-protocol.ts';
import { poolerPerMode } from './helpers/pooler-per-mode.ts';

const { tenants, pooled } = poolerPerMode('split-set', { transaction: 1, session: 1 });

// Bytes before CommandComplete "SET": RowDescription (27) + DataRow (11 + N) + CommandComplete
// "SELECT 1" (14) = 52 + N; the 9-byte CommandComplete "SET" straddles 8,192 for N = 8,132…8,139.
const EXACT = 8192 - 52 - 4;

describe('transaction mode', () => {
  // "tracked": the client prepared a named statement first, so the pooler follows its messages one
  // by one (frontend/tracked.ts) instead of forwarding whole chunks; both paths must see the SET.
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
      for (let n = EXACT - 3; n <= EXACT + 3; n++) {
        const ms = String(1000 + n);
        const rows = await a.simple(`SELECT repeat('x', ${n}) AS p; SET statement_timeout = ${ms}; SELECT pg_sleep(0.2)`);
        expect(rows[0]?.[0]?.length, `padding ${n}`).toBe(n);
        // The other client, on the same (only) server connection, sees the server's default.
        expect(await pid(b)).toBe(serverPid);
        expect((await b.simple('SHOW statement_timeout'))[0]?.[0], `padding ${n}: client A's SET leaked`).toBe('0');
      }
    } finally {
      await endAll(clients);
    }
  });
});
