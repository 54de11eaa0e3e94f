// The console of a multi-worker machine: which commands go to every worker, and how their answers
// merge (sums per tenant, the longest wait, worker-tagged connection ids, errors).
import { describe, expect, it } from 'vitest';
import { CONNECTION_COLUMNS } from './connection-columns.ts';
import { fanOutOf, mergeAction, mergeShow, type WorkerAnswer } from './fan-out.ts';
import { AdminError, rows, tag, type AdminReply, type Cell } from './result.ts';
import { SHOW_DATABASES_COLUMNS } from './show-databases.ts';
import { SHOW_LISTS_COLUMNS } from './show-lists.ts';
import { SHOW_POOLS_COLUMNS } from './show-pools.ts';
import { SHOW_STATEMENTS_COLUMNS } from './show-statements.ts';
import { SHOW_STATS_COLUMNS, SHOW_STATS_SPLIT_COLUMNS } from './show-stats.ts';

const ok = (worker: number, reply: AdminReply): WorkerAnswer => ({ worker, ok: true, reply });
const failed = (worker: number, code: string | undefined, message: string): WorkerAnswer => ({ worker, ok: false, error: { code, message, hint: undefined } });

function cellsOf(reply: AdminReply): readonly (readonly Cell[])[] {
  if (reply.kind !== 'rows') throw new Error('expected rows');
  return reply.result.rows;
}

describe('fanOutOf', () => {
  it.each([
    ['SHOW POOLS', { kind: 'show', what: 'POOLS' }],
    ['show stats_totals;', { kind: 'show', what: 'STATS_TOTALS' }],
    ['SHOW STATEMENTS', { kind: 'show', what: 'STATEMENTS' }],
    ['SHOW CLIENTS', { kind: 'show', what: 'CLIENTS' }],
    ['SHOW CONFIG', { kind: 'local' }],
    ['SHOW VERSION', { kind: 'local' }],
    ['SHOW HELP', { kind: 'local' }],
    ['SHOW NOTHING', { kind: 'local' }],
    ['SELECT 1', { kind: 'local' }],
    ['', { kind: 'local' }],
    ['SHOW POOLS; SHOW STATS', { kind: 'local' }],
    ['pause', { kind: 'action', verb: 'PAUSE' }],
    ['PAUSE "My App"', { kind: 'action', verb: 'PAUSE' }],
    ['KILL', { kind: 'action', verb: 'KILL' }],
    ['RESUME acme', { kind: 'action', verb: 'RESUME' }],
    ['RECONNECT', { kind: 'action', verb: 'RECONNECT' }],
    ['RELOAD', { kind: 'action', verb: 'RELOAD' }],
    ['RELOAD now', { kind: 'local' }],
    ['SHUTDOWN;', { kind: 'shutdown' }],
    ['SHUTDOWN please', { kind: 'local' }],
  ])('%j → %j', (query, expected) => {
    expect(fanOutOf(query)).toEqual(expected);
  });
});

describe('mergeShow', () => {
  const pool = (db: string, clActive: number, svIdle: number, wait: number, waitUs: number): Cell[] => [db, 'usr', clActive, 1, 0, 0, 2, 0, 0, svIdle, 0, 0, 0, wait, waitUs, 'transaction'];

  it('SHOW POOLS sums per tenant and keeps the longest wait', () => {
    const merged = mergeShow('POOLS', [
      ok(1, rows(SHOW_POOLS_COLUMNS, [pool('a', 3, 1, 0, 900_000), pool('b', 1, 0, 0, 0)])),
      ok(2, rows(SHOW_POOLS_COLUMNS, [pool('a', 4, 2, 1, 5), pool('c', 2, 0, 0, 0)])),
    ]);
    expect(cellsOf(merged)).toEqual([
      ['a', 'usr', 7, 2, 0, 0, 4, 0, 0, 3, 0, 0, 0, 1, 5, 'transaction'],
      ['b', 'usr', 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 'transaction'],
      ['c', 'usr', 2, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 'transaction'],
    ]);
  });

  it('SHOW STATS_TOTALS sums counters', () => {
    const merged = mergeShow('STATS_TOTALS', [
      ok(1, rows(SHOW_STATS_SPLIT_COLUMNS, [['a', 10, 10, 100, 200, 0, 0, 7]])),
      ok(2, rows(SHOW_STATS_SPLIT_COLUMNS, [['a', 5, 5, 50, 20, 0, 0, 3]])),
    ]);
    expect(cellsOf(merged)).toEqual([['a', 15, 15, 150, 220, 0, 0, 10]]);
  });

  it('SHOW STATS_AVERAGES weights the mean durations by their counts, and SHOW STATS likewise', () => {
    // Worker 1: 30 transactions/s of 100 µs; worker 2: 10/s of 500 µs → 40/s, (3000 + 5000) / 40 = 200 µs.
    const merged = mergeShow('STATS_AVERAGES', [
      ok(1, rows(SHOW_STATS_SPLIT_COLUMNS, [['a', 30, 60, 100, 200, 100, 50, 7], ['b', 0, 0, 0, 0, 0, 0, 0]])),
      ok(2, rows(SHOW_STATS_SPLIT_COLUMNS, [['a', 10, 0, 50, 20, 500, 0, 3], ['b', 0, 0, 0, 0, 0, 0, 0]])),
    ]);
    expect(cellsOf(merged)).toEqual([
      ['a', 40, 60, 150, 220, 200, 50, 10],
      ['b', 0, 0, 0, 0, 0, 0, 0],
    ]);
    const half = (xacts: number, xactUs: number): Cell[] => ['a', 0, 0, 0, 0, 0, 0, 0, xacts, 0, 0, 0, xactUs, 0, 0];
    const stats = mergeShow('STATS', [ok(1, rows(SHOW_STATS_COLUMNS, [half(30, 100)])), ok(2, rows(SHOW_STATS_COLUMNS, [half(10, 500)]))]);
    expect(cellsOf(stats)[0]![12]).toBe(200);
  });

  it('SHOW STATS_AVERAGES: a worker whose count rate rounds to 0 still counts in the mean duration', () => {
    // A slow, quiet tenant: 20 transactions of 5 s a minute per worker (0.33/s, shown as 0 a second).
    const quiet = (xacts: number, xactUs: number): Cell[] => ['a', xacts, 0, 0, 0, xactUs, 0, 0];
    const both = mergeShow('STATS_AVERAGES', [ok(1, rows(SHOW_STATS_SPLIT_COLUMNS, [quiet(0, 5_000_000)])), ok(2, rows(SHOW_STATS_SPLIT_COLUMNS, [quiet(0, 5_000_000)]))]);
    expect(cellsOf(both)[0]![5]).toBe(5_000_000);
    // Beside a busier worker it weighs less, but not nothing.
    const mixed = mergeShow('STATS_AVERAGES', [ok(1, rows(SHOW_STATS_SPLIT_COLUMNS, [quiet(0, 5_000_000)])), ok(2, rows(SHOW_STATS_SPLIT_COLUMNS, [quiet(1, 1_000_000)]))]);
    expect(cellsOf(mixed)[0]![5]).toBeGreaterThan(1_000_000);
    expect(cellsOf(mixed)[0]![5]).toBeLessThan(5_000_000);
  });

  it('SHOW STATEMENTS merges per tenant and text: calls and time summed, the longest call, the mean by calls', () => {
    const merged = mergeShow('STATEMENTS', [
      ok(1, rows(SHOW_STATEMENTS_COLUMNS, [['a', 1, 100, 100, 100, 'SELECT x'], ['a', 3, 90, 30, 50, 'SELECT ?']])),
      ok(2, rows(SHOW_STATEMENTS_COLUMNS, [['a', 1, 500, 500, 500, 'SELECT ?'], ['b', 2, 20, 10, 12, 'SELECT ?']])),
    ]);
    // Re-ordered by the merged totals: 'SELECT ?' (590) before 'SELECT x' (100).
    expect(cellsOf(merged)).toEqual([
      ['a', 4, 590, 148, 500, 'SELECT ?'],
      ['a', 1, 100, 100, 100, 'SELECT x'],
      ['b', 2, 20, 10, 12, 'SELECT ?'],
    ]);
  });

  it('SHOW DATABASES sums sizes and connections, not the port; paused if any worker is', () => {
    const db = (size: number, conns: number, paused: number): Cell[] => ['a', 'pg', 5432, 'd', 'u', size, 1, 0, 'session', size, conns, paused, 0];
    const merged = mergeShow('DATABASES', [ok(1, rows(SHOW_DATABASES_COLUMNS, [db(3, 2, 0)])), ok(2, rows(SHOW_DATABASES_COLUMNS, [db(2, 1, 1)]))]);
    expect(cellsOf(merged)).toEqual([['a', 'pg', 5432, 'd', 'u', 5, 2, 0, 'session', 5, 3, 1, 0]]);
  });

  it('SHOW LISTS sums object counts but not the configured databases and users', () => {
    const lists = (clients: number): Cell[][] => [
      ['databases', 3],
      ['users', 2],
      ['used_clients', clients],
    ];
    const merged = mergeShow('LISTS', [ok(1, rows(SHOW_LISTS_COLUMNS, lists(4))), ok(2, rows(SHOW_LISTS_COLUMNS, lists(6)))]);
    expect(cellsOf(merged)).toEqual([
      ['databases', 3],
      ['users', 2],
      ['used_clients', 10],
    ]);
  });

  it('SHOW CLIENTS lists every worker, ids tagged with the worker, console sessions last', () => {
    const row = (ptr: string, link: string, db: string): Cell[] => ['C', 'u', db, 'active', '127.0.0.1', 1, '127.0.0.1', 2, 't', 't', 0, 0, 0, ptr, link, 0, '', ''];
    const merged = mergeShow('CLIENTS', [
      ok(1, rows(CONNECTION_COLUMNS, [row('c1', 's1', 'a'), row('a1', '', 'switchyard')])),
      ok(2, rows(CONNECTION_COLUMNS, [row('c1', '', 'a')])),
    ]);
    expect(cellsOf(merged).map((r) => [r[13], r[14], r[2]])).toEqual([
      ['w1:c1', 'w1:s1', 'a'],
      ['w2:c1', '', 'a'],
      ['w1:a1', '', 'switchyard'],
    ]);
  });

  it('fails when a worker failed, naming it', () => {
    expect(() => mergeShow('POOLS', [ok(1, rows(SHOW_POOLS_COLUMNS, [])), failed(2, undefined, 'worker 2 did not answer')])).toThrow(
      'worker 2 did not answer (worker 2)',
    );
  });
});

describe('mergeAction', () => {
  it('answers the tag when every worker succeeded', () => {
    expect(mergeAction('PAUSE', [ok(1, tag('PAUSE')), ok(2, tag('PAUSE'))])).toEqual(tag('PAUSE'));
  });

  it('gives the error every worker gave, as an AdminError with its SQLSTATE', () => {
    let err: unknown;
    try {
      mergeAction('KILL', [failed(1, 'NO_SUCH_DATABASE', 'no such database: x'), failed(2, 'NO_SUCH_DATABASE', 'no such database: x')]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).sqlstate).toBe('3D000');
    expect((err as AdminError).message).toBe('no such database: x');
  });

  it('fails PAUSE and RELOAD when one worker failed', () => {
    expect(() => mergeAction('RELOAD', [ok(1, tag('RELOAD')), failed(2, 'RELOAD_FAILED', 'reload failed')])).toThrow('reload failed (worker 2)');
    expect(() => mergeAction('PAUSE', [failed(1, 'SHUTTING_DOWN', 'the pooler is shutting down'), ok(2, tag('PAUSE'))])).toThrow(AdminError);
  });

  it('RESUME succeeds when any worker was paused', () => {
    expect(mergeAction('RESUME', [failed(1, 'NOT_PAUSED', 'database a is not paused'), ok(2, tag('RESUME'))])).toEqual(tag('RESUME'));
    expect(() => mergeAction('RESUME', [failed(1, 'NOT_PAUSED', 'no database is paused'), failed(2, 'NOT_PAUSED', 'no database is paused')])).toThrow(
      'no database is paused',
    );
  });
});
