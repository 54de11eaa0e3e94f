// A standalone Describe of a named statement (Parse + Sync now, Describe + Sync later), possibly on
// a different server connection than the one the Parse ran on (transaction mode, forced by holding
// the first one busy from another client). The client must get exactly PostgreSQL's replies:
// ParameterDescription and RowDescription (or NoData) of ITS statement — not a neighbour's
// statement of the same name with other parameter and column types — and 26000 for a name it never
// prepared. Protocol docs, "Extended Query": Describe of a statement yields ParameterDescription
// then RowDescription or NoData.
import { describe, expect, it } from 'vitest';
import { bind, describe as describeMsg, execute, flush, parse, scenarioVersusPostgres, sync, type Step } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn } from './helpers/tenants.ts';

const { tenants, pooled } = poolerPerMode('descr', { transaction: 2, session: 4 });

const describeStmt = (name: string): Buffer => Buffer.concat([describeMsg('S', name), sync()]);

function script(who: string, sql: string, params: string[]): Step[] {
  return [
    { label: `${who}: Parse q`, bytes: Buffer.concat([parse('q', sql), sync()]) },
    { label: `${who}: Describe q`, bytes: describeStmt('q'), move: true },
    // Describe then Flush (no Sync yet): the replies must come before the Sync.
    { label: `${who}: Describe q, Flush, Sync`, bytes: Buffer.concat([describeMsg('S', 'q'), flush(), sync()]), move: true },
    { label: `${who}: Parse n (no result columns)`, bytes: Buffer.concat([parse('n', 'DO $$ BEGIN END $$'), sync()]), move: true },
    { label: `${who}: Describe n and q together`, bytes: Buffer.concat([describeMsg('S', 'n'), describeMsg('S', 'q'), sync()]), move: true },
    { label: `${who}: run q`, bytes: Buffer.concat([bind('', 'q', params), describeMsg('P', ''), execute(), sync()]), move: true },
    { label: `${who}: Describe a name never prepared`, bytes: describeStmt('never'), move: true },
  ];
}

describe.each(MODES)('%s mode', (mode) => {
  it('a later Describe of a named statement describes the client’s own statement', async () => {
    const t = tenants[mode];
    const r = await scenarioVersusPostgres({
      direct: destinationConn(t),
      pooled: pooled(t),
      // Same names, different parameter and result types.
      scripts: [script('a', 'SELECT $1::int AS n, $2::text AS t', ['5', 'x']), script('b', 'SELECT $1::numeric AS price', ['1.5'])],
      moveBetweenServers: mode === 'transaction',
    });
    const ref = r.expected[0]!.join('\n');
    expect(ref).toContain('t:23,25\nT:n/23,t/25');
    expect(ref).toContain('t:\nn\nt:23,25\nT:n/23,t/25');
    expect(ref).toContain('E:ERROR:26000:prepared statement "never" does not exist');
    expect(r.expected[1]!.join('\n')).toContain('t:1700\nT:price/1700');
    expect(r.transcripts[0], 'client a').toEqual(r.expected[0]);
    expect(r.transcripts[1], 'client b').toEqual(r.expected[1]);
    if (mode === 'transaction') {
      const moves = r.moves.flat();
      expect(moves.length).toBeGreaterThan(0);
      for (const m of moves) expect(m.to, `step "${m.label}" ran on the same server`).not.toBe(m.from);
    }
  });
});
