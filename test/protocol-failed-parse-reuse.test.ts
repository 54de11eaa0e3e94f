// A Parse that fails leaves no statement behind (protocol docs, "Extended Query": an error in Parse
// means the statement was not created). So Bind of that name fails with 26000, and a later Parse
// of the same name succeeds — through the pooler exactly as on PostgreSQL, even when the requests
// land on different server connections (transaction mode) and another client uses the same name
// for a statement that does exist. A pooler that recorded the name before the server accepted it
// would answer the Bind from its own bookkeeping, or reject the second Parse with 42P05.
import { describe, expect, it } from 'vitest';
import { bind, describe as describeMsg, execute, parse, scenarioVersusPostgres, sync, type Step } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn } from './helpers/tenants.ts';

// Two server connections: `move` steps alternate between them (transaction mode).
const { tenants, pooled } = poolerPerMode('fparse', { transaction: 2, session: 4 });

const run = (name: string, params: string[] = []): Buffer => Buffer.concat([bind('', name, params), describeMsg('P', ''), execute(), sync()]);

/** The client whose Parse fails. */
const failing: Step[] = [
  { label: 'Parse with a syntax error', bytes: Buffer.concat([parse('s', 'SELEC 1 AS a'), sync()]) },
  { label: 'Bind of the failed name', bytes: run('s'), move: true },
  { label: 'Describe of the failed name', bytes: Buffer.concat([describeMsg('S', 's'), sync()]), move: true },
  { label: 'Parse again, valid', bytes: Buffer.concat([parse('s', 'SELECT $1::int + 1 AS a'), sync()]), move: true },
  { label: 'run it', bytes: run('s', ['41']), move: true },
  { label: 'run it on the other server', bytes: run('s', ['1']), move: true },
  // Parse of an existing name with invalid SQL: the syntax error wins; the old statement stays.
  { label: 'failed Parse over an existing name', bytes: Buffer.concat([parse('s', 'SELECT FROM WHERE'), sync()]), move: true },
  { label: 'the old statement still runs', bytes: run('s', ['9']), move: true },
  // A failed Parse inside a pipeline, then a valid Parse of the same name after the Sync (not
  // wrapped in a transaction: the first error would abort it and hide the rest).
  {
    label: 'fail and re-parse t in one write',
    bytes: Buffer.concat([parse('t', 'SELECT no_such_column'), bind('', 't'), execute(), sync(), parse('t', "SELECT 'ok'::text AS t"), sync(), bind('', 't'), execute(), sync()]),
    wrap: false,
  },
  { label: 'run t', bytes: run('t') },
  { label: 'run t on the other server', bytes: run('t'), move: true },
];

/** Another client whose statement of the same name does exist, interleaved step by step. */
const neighbour: Step[] = [
  { label: 'neighbour: Parse s', bytes: Buffer.concat([parse('s', "SELECT 'neighbour'::text AS who"), sync()]) },
  { label: 'neighbour: run s', bytes: run('s'), move: true },
  { label: 'neighbour: run s again', bytes: run('s'), move: true },
  { label: 'neighbour: Parse t', bytes: Buffer.concat([parse('t', "SELECT 'neighbour-t'::text AS who"), sync()]), move: true },
  { label: 'neighbour: run s and t', bytes: Buffer.concat([run('s'), run('t')]), move: true },
];

describe.each(MODES)('%s mode', (mode) => {
  it('a failed Parse creates nothing; the name can be parsed again', async () => {
    const t = tenants[mode];
    const r = await scenarioVersusPostgres({
      direct: destinationConn(t),
      pooled: pooled(t),
      scripts: [failing, neighbour],
      moveBetweenServers: mode === 'transaction',
    });
    // The reference shows what the test is about: 42601 at Parse, then 26000 for the Bind.
    const ref = r.expected[0]!.join('\n');
    expect(ref).toContain('E:ERROR:42601:syntax error at or near "SELEC"');
    expect(ref).toContain('E:ERROR:26000:prepared statement "s" does not exist');
    expect(ref).toContain('D:["42"]');
    expect(ref).toContain('D:["10"]');
    expect(ref).toContain('E:ERROR:42703:column "no_such_column" does not exist');
    expect(ref.match(/D:\["ok"\]/g)?.length).toBe(3);
    expect(r.transcripts[0], 'client with the failing Parse').toEqual(r.expected[0]);
    expect(r.transcripts[1], 'neighbour client').toEqual(r.expected[1]);
    if (mode === 'transaction') {
      const moves = r.moves.flat();
      expect(moves.length).toBeGreaterThan(0);
      for (const m of moves) expect(m.to, `step "${m.label}" ran on the same server`).not.toBe(m.from);
    }
  });
});
