// Close of a named statement, then a Parse of the same name with a different query. PostgreSQL
// answers Close with CloseComplete (also for a name that does not exist) and afterwards treats the
// name as free: the new Parse succeeds and every later Bind runs the NEW query. Through the pooler
// (transaction mode) the old statement may still be prepared on another server connection; the
// client must never get the old query's result, nor 42P05 "already exists", and must get 26000
// after a Close. Each step is forced onto a different server connection than the previous one.
import { describe, expect, it } from 'vitest';
import { bind, close, describe as describeMsg, execute, parse, scenarioVersusPostgres, sync, type Step } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn } from './helpers/tenants.ts';

const { tenants, pooled } = poolerPerMode('reparse', { transaction: 2, session: 4 });

const run = (name: string): Buffer => Buffer.concat([bind('', name), describeMsg('P', ''), execute(), sync()]);

function script(who: string): Step[] {
  return [
    { label: 'Parse s (version 1)', bytes: Buffer.concat([parse('s', `SELECT 1 AS v1, '${who}'::text AS who`), sync()]) },
    { label: 'run s', bytes: run('s'), move: true },
    // Now version 1 is prepared on both servers (transaction mode).
    { label: 'run s again', bytes: run('s'), move: true },
    { label: 'Close s', bytes: Buffer.concat([close('S', 's'), sync()]), move: true },
    { label: 'run s after Close', bytes: run('s'), move: true },
    { label: 'Parse s (version 2)', bytes: Buffer.concat([parse('s', `SELECT 2 AS v2, 3 AS c, '${who}'::text AS who`), sync()]), move: true },
    { label: 'Describe s', bytes: Buffer.concat([describeMsg('S', 's'), sync()]), move: true },
    { label: 'run s (version 2)', bytes: run('s'), move: true },
    { label: 'run s (version 2) on the other server', bytes: run('s'), move: true },
    { label: 'Close s twice and a name never prepared', bytes: Buffer.concat([close('S', 's'), close('S', 's'), close('S', 'never'), sync()]), move: true },
    // Close and re-Parse in one pipeline, used at once.
    {
      label: 'Close, Parse (version 3), run, in one Sync',
      bytes: Buffer.concat([close('S', 's'), parse('s', `SELECT 'v3'::text AS v3, '${who}'::text AS who`), bind('', 's'), describeMsg('P', ''), execute(), sync()]),
      move: true,
    },
    { label: 'run s (version 3) on the other server', bytes: run('s'), move: true },
    // A Parse of an existing name without Close is an error (42P05) and keeps the old statement.
    { label: 'Parse s without Close', bytes: Buffer.concat([parse('s', 'SELECT 4 AS v4'), sync()]), move: true },
    { label: 'run s (still version 3)', bytes: run('s'), move: true },
  ];
}

describe.each(MODES)('%s mode', (mode) => {
  // 'different texts': the two clients' statements differ; 'same texts': both clients prepare
  // identical texts (a pooler may share one server-side statement between them, and one client's
  // Close must not take it away from the other).
  it.each([
    { texts: 'different texts', whoB: 'b' },
    { texts: 'same texts', whoB: 'a' },
  ])('after Close, a re-Parse of the same name runs the new query everywhere ($texts)', async ({ whoB }) => {
    const t = tenants[mode];
    const r = await scenarioVersusPostgres({
      direct: destinationConn(t),
      pooled: pooled(t),
      scripts: [script('a'), script(whoB)],
      moveBetweenServers: mode === 'transaction',
    });
    const ref = r.expected[0]!.join('\n');
    expect(ref).toContain('## Close s\n3\n');
    expect(ref).toContain('E:ERROR:26000:prepared statement "s" does not exist');
    expect(ref).toContain('T:v2/23,c/23,who/25');
    expect(ref).toContain('## Close s twice and a name never prepared\n3\n3\n3\n');
    expect(ref).toContain('E:ERROR:42P05:prepared statement "s" already exists');
    expect(r.expected[0]!.slice(-6)).toContain('D:["v3","a"]');
    expect(r.transcripts[0], 'client a').toEqual(r.expected[0]);
    expect(r.transcripts[1], 'client b').toEqual(r.expected[1]);
    if (mode === 'transaction') {
      const moves = r.moves.flat();
      expect(moves.length).toBeGreaterThan(0);
      for (const m of moves) expect(m.to, `step "${m.label}" ran on the same server`).not.toBe(m.from);
    }
  });
});
