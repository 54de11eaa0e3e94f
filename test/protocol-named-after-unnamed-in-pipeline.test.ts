// A pipeline whose first extended-protocol messages use the unnamed statement and whose later
// ones, before any Sync, use a named statement (protocol docs, "Pipelining": a client may send
// any number of extended-query messages and a single Sync at the end). pgjdbc batches do this once
// a statement crosses prepareThreshold; psycopg's pipeline mode can too. In transaction mode the
// pooler starts mapping statement names at the first named Parse; the client must still get
// exactly PostgreSQL's replies — in the first pipeline it sends, and after earlier pipelines.
import { describe, expect, it } from 'vitest';
import { bind, describe as describeMsg, endAll, execute, flush, parse, ProtocolClient, summarizeAll, sync } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn } from './helpers/tenants.ts';

const { tenants, pooled } = poolerPerMode('mixpipe', { transaction: 2, session: 4 });

const unnamed = (v: number): Buffer[] => [parse('', 'SELECT $1::int + 1 AS u'), bind('', '', [String(v)]), describeMsg('P', ''), execute()];
const named = (v: number, withParse: boolean): Buffer[] => [...(withParse ? [parse('n1', 'SELECT $1::int * 10 AS n')] : []), bind('', 'n1', [String(v)]), describeMsg('P', ''), execute()];

/** The requests of one connection, each sent in one write. */
const requests: Buffer[] = [
  // Unnamed ×3, then the named statement is prepared and used, one Sync for all.
  Buffer.concat([...unnamed(1), ...unnamed(2), ...unnamed(3), ...named(4, true), ...named(5, false), sync()]),
  // Again, now that the name exists; then unnamed after named.
  Buffer.concat([...unnamed(6), ...named(7, false), ...unnamed(8), sync()]),
];

async function transcript(c: ProtocolClient): Promise<string[]> {
  const out: string[] = [];
  for (const [i, r] of requests.entries()) out.push(`## request ${i}`, ...summarizeAll(await c.request(r)));
  return out;
}

/**
 * The same pipeline in two writes, the first ending with Flush (no Sync), as drivers that wait for
 * a Describe's reply before binding do: the unnamed statement's results arrive, and only then is
 * the named Parse sent, still before any Sync.
 */
async function splitTranscript(c: ProtocolClient): Promise<string[]> {
  await c.send(Buffer.concat([...unnamed(1), flush()]));
  const first = await c.untilType('C');
  await c.send(Buffer.concat([...named(2, true), ...unnamed(3), sync()]));
  return ['## split request', ...summarizeAll(first), ...summarizeAll(await c.untilReady())];
}

describe.each(MODES)('%s mode', (mode) => {
  it('unnamed then named statements before one Sync: exactly PostgreSQL’s replies', async () => {
    const t = tenants[mode];
    const direct = await ProtocolClient.connect(destinationConn(t));
    let expected: string[];
    try {
      expected = await transcript(direct);
    } finally {
      await direct.end();
    }
    expect(expected).toContain('D:["50"]');
    const directSplit = await ProtocolClient.connect(destinationConn(t));
    let expectedSplit: string[];
    try {
      expectedSplit = await splitTranscript(directSplit);
    } finally {
      await directSplit.end();
    }
    expect(expectedSplit).toEqual(['## split request', '1', '2', 'T:u/23', 'D:["2"]', 'C:SELECT 1', '1', '2', 'T:n/23', 'D:["20"]', 'C:SELECT 1', '1', '2', 'T:u/23', 'D:["4"]', 'C:SELECT 1', 'Z:I']);
    const clients: ProtocolClient[] = [];
    try {
      // A fresh client (the named Parse is its first), and one that ran unnamed pipelines before.
      const fresh = await ProtocolClient.connect(pooled(t));
      const warmed = await ProtocolClient.connect(pooled(t));
      clients.push(fresh, warmed);
      expect((await warmed.request(Buffer.concat([...unnamed(0), sync()]))).map((m) => m.type)).toEqual(['1', '2', 'T', 'D', 'C', 'Z']);
      const got = await Promise.all([transcript(fresh).catch((e: unknown) => [String(e)]), transcript(warmed).catch((e: unknown) => [String(e)])]);
      expect(got[0], 'fresh client').toEqual(expected);
      expect(got[1], 'client with earlier unnamed pipelines').toEqual(expected);
      const split = await ProtocolClient.connect(pooled(t));
      clients.push(split);
      expect(await splitTranscript(split).catch((e: unknown) => [String(e)]), 'named Parse after a Flush-terminated unnamed statement').toEqual(expectedSplit);
    } finally {
      await endAll(clients);
    }
  });
});
