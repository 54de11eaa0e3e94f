// SQL-level removal of protocol-level prepared statements: `DEALLOCATE name`, `DEALLOCATE ALL` and
// `DISCARD ALL` (PostgreSQL docs, SQL commands DEALLOCATE and DISCARD: a prepared statement made
// by a Parse message is deallocated like one made by PREPARE). After each, PostgreSQL answers a
// Bind of the removed name with 26000, and a new Parse of the same name — with another query —
// succeeds and runs that query. Through the pooler (transaction mode) the statements live on
// several server connections and may be renamed there; the client must see exactly PostgreSQL's
// replies: DEALLOCATE of its own name succeeds, the name is gone everywhere, reuse works.
import { describe, expect, it } from 'vitest';
import { bind, describe as describeMsg, execute, parse, query, scenarioVersusPostgres, sync, type Step } from './helpers/raw-protocol.ts';
import { MODES, poolerPerMode } from './helpers/pooler-per-mode.ts';
import { destinationConn } from './helpers/tenants.ts';

const { tenants, pooled } = poolerPerMode('dealloc', { transaction: 2, session: 4 });

const run = (name: string): Buffer => Buffer.concat([bind('', name), describeMsg('P', ''), execute(), sync()]);
const prep = (name: string, sql: string): Buffer => Buffer.concat([parse(name, sql), sync()]);

/** Prepares s1 and s2 (version 1) and runs each on both server connections (transaction mode). */
function prepareEverywhere(who: string): Step[] {
  return [
    { label: 'Parse s1, s2', bytes: Buffer.concat([parse('s1', `SELECT 'v1-s1'::text AS v, '${who}'::text AS who`), parse('s2', `SELECT 'v1-s2'::text AS v, '${who}'::text AS who`), sync()]) },
    { label: 'run s1, s2', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    { label: 'run s1, s2 on the other server', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
  ];
}

function reuse(who: string, names: string[]): Step[] {
  return [
    { label: `Parse ${names.join(', ')} again (version 2)`, bytes: Buffer.concat(names.map((n) => prep(n, `SELECT 'v2-${n}'::text AS v2, '${who}'::text AS who, 42 AS extra`))), move: true },
    { label: 'run version 2', bytes: Buffer.concat(names.map(run)), move: true },
    { label: 'run version 2 on the other server', bytes: Buffer.concat(names.map(run)), move: true },
  ];
}

const scripts: Record<string, (who: string) => Step[]> = {
  'DEALLOCATE name': (who) => [
    ...prepareEverywhere(who),
    { label: 'DEALLOCATE s1', bytes: query('DEALLOCATE s1'), move: true },
    { label: 'run s1 (gone), s2 (still there)', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    { label: 'run s1, s2 on the other server', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    { label: 'DEALLOCATE PREPARE s1 (already gone)', bytes: query('DEALLOCATE PREPARE s1'), move: true },
    ...reuse(who, ['s1']),
  ],
  'DEALLOCATE ALL': (who) => [
    ...prepareEverywhere(who),
    { label: 'DEALLOCATE ALL', bytes: query('DEALLOCATE ALL'), move: true },
    { label: 'run s1, s2 (both gone)', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    { label: 'run s1, s2 on the other server', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    ...reuse(who, ['s1', 's2']),
  ],
  'DISCARD ALL': (who) => [
    ...prepareEverywhere(who),
    // DISCARD ALL cannot run inside a transaction block: not wrapped.
    { label: 'DISCARD ALL', bytes: query('DISCARD ALL'), wrap: false },
    { label: 'run s1, s2 (both gone)', bytes: Buffer.concat([run('s1'), run('s2')]) },
    { label: 'run s1, s2 on the other server', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    ...reuse(who, ['s1', 's2']),
  ],
  // The same in the extended protocol (Parse/Bind/Execute of the DEALLOCATE), as drivers send it.
  'DEALLOCATE ALL via the extended protocol': (who) => [
    ...prepareEverywhere(who),
    { label: 'P/B/E DEALLOCATE ALL', bytes: Buffer.concat([parse('', 'DEALLOCATE ALL'), bind('', ''), execute(), sync()]), move: true },
    { label: 'run s1, s2 (both gone)', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
    ...reuse(who, ['s1', 's2']),
  ],
};

const cases = Object.keys(scripts).flatMap((kind) => [
  { kind, texts: 'different texts', whoB: 'b' },
  // The neighbour prepares identical texts: a shared server-side statement must survive.
  { kind, texts: 'same texts', whoB: 'a' },
]);

describe.each(MODES)('%s mode', (mode) => {
  it.each(cases)('$kind removes the statements; the names can be reused ($texts)', async ({ kind, whoB }) => {
    const t = tenants[mode];
    const make = scripts[kind]!;
    const r = await scenarioVersusPostgres({
      direct: destinationConn(t),
      pooled: pooled(t),
      // A second client with the same names, whose statements must survive the first one's DEALLOCATE.
      scripts: [make('a'), prepareEverywhere(whoB).concat([{ label: 'b: run s1, s2 at the end', bytes: Buffer.concat([run('s1'), run('s2')]), move: true }])],
      moveBetweenServers: mode === 'transaction',
    });
    const ref = r.expected[0]!.join('\n');
    expect(ref).toContain('E:ERROR:26000:prepared statement "s1" does not exist');
    expect(ref).toContain('D:["v2-s1","a","42"]');
    expect(r.transcripts[0], 'client a').toEqual(r.expected[0]);
    expect(r.transcripts[1], 'client b (same names, no DEALLOCATE)').toEqual(r.expected[1]);
    if (mode === 'transaction') {
      const moves = r.moves.flat();
      expect(moves.length).toBeGreaterThan(0);
      for (const m of moves) expect(m.to, `step "${m.label}" ran on the same server`).not.toBe(m.from);
    }
  });
});

// DEALLOCATE of a statement the client made with SQL PREPARE (not one of its protocol-level names)
// reaches the server and reports the tag "DEALLOCATE", which does not say which statement went.
// The pooler-named statements on that connection are still there: preparing one again there must
// not fail with 42P05 "already exists" (it did, for every later use of the text on that connection).
describe.each(MODES)('%s mode', (mode) => {
  it('DEALLOCATE of an SQL-prepared statement leaves the named protocol statements usable', async () => {
    const t = tenants[mode];
    const script: Step[] = [
      ...prepareEverywhere('a'),
      { label: 'PREPARE foo; DEALLOCATE foo', bytes: query('PREPARE foo AS SELECT 1; DEALLOCATE foo'), move: true },
      { label: 'run s1, s2', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
      { label: 'run s1, s2 on the other server', bytes: Buffer.concat([run('s1'), run('s2')]), move: true },
      { label: 'Parse s3 (a text already prepared as s1)', bytes: prep('s3', `SELECT 'v1-s1'::text AS v, 'a'::text AS who`), move: true },
      { label: 'run s3', bytes: run('s3'), move: true },
    ];
    const r = await scenarioVersusPostgres({ direct: destinationConn(t), pooled: pooled(t), scripts: [script], moveBetweenServers: mode === 'transaction' });
    expect(r.expected[0]!.join('\n')).not.toContain('E:');
    // In transaction mode a PREPARE after another statement in one Query is not mapped (it lasts
    // until the end of the transaction): the pooler says so with a WARNING after its CommandComplete
    // (docs/transaction-mode.md, "SQL PREPARE and EXECUTE"). Everything else is PostgreSQL's.
    const warning = 'N:WARNING:01000:this prepared statement is not kept beyond the transaction in transaction pooling mode';
    if (mode === 'transaction') expect(r.transcripts[0]).toContain(warning);
    expect(r.transcripts[0]!.filter((line) => line !== warning)).toEqual(r.expected[0]);
  });
});
