// A transaction that only parses and describes is not reset (backend/reset.ts: nothing ran), so the
// server connection goes back to the pool with the client's unnamed prepared statement, which
// PostgreSQL keeps until the next unnamed Parse or simple Query (protocol docs, "Extended Query").
// Another client's Bind of the unnamed statement — which on PostgreSQL fails with 26000, as it never
// parsed one — must not run the first client's query.
import { describe, expect, it } from 'vitest';
import { bind, describe as describeMsg, errorCodes, execute, parse, ProtocolClient, rows, sync } from '../helpers/raw-protocol.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('unnamed-left', { pool: { size: 1 } });

async function leakAttempt(a: ProtocolClient, b: ProtocolClient): Promise<void> {
  const described = await a.request(parse('', "SELECT 'secret-of-a'"), describeMsg('S', ''), sync());
  expect(described.map((m) => m.type)).toContain('1');
  const got = await b.request(bind('', ''), execute(), sync());
  expect(rows(got)).toEqual([]);
  expect(errorCodes(got)).toEqual(['26000']);
}

describe("a client's unnamed statement is not left to the next client", () => {
  it('plain extended protocol (fast path)', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    const b = await ProtocolClient.connect(rig.conn());
    try {
      await leakAttempt(a, b);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('a client that has named statements (prepared session)', async () => {
    const a = await ProtocolClient.connect(rig.conn());
    const b = await ProtocolClient.connect(rig.conn());
    try {
      await a.request(parse('named', 'SELECT 1'), bind('', 'named'), execute(), sync());
      await b.request(parse('named_b', 'SELECT 2'), bind('', 'named_b'), execute(), sync());
      await leakAttempt(a, b);
    } finally {
      await a.end();
      await b.end();
    }
  });
});
