// Statement shapes (stats/statement-shapes.ts): the normalizer's rules, the text read from a Query
// or Parse message, and the bounds a hostile tenant cannot push: shapes per tenant, cached texts,
// normalizations per second, and the process-wide totals.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as msg from '../net/messages.ts';
import { encodeParse } from '../net/extended.ts';
import { LatencyBook } from './latency.ts';
import { leadingQueryText, MAX_SHAPES, MAX_TOTAL_SHAPES, NORMALIZE_PER_SECOND, normalizeSql, OTHER_TEXT, RAW_CACHE, RAW_MAX, ShapeBudget, TenantShapes } from './statement-shapes.ts';

describe('normalizeSql', () => {
  it.each([
    ['SELECT  1,\n\t2.5e-3 ,  .5', 'SELECT ?, ? , ?'],
    ["SELECT 'it''s', E'a\\'b', $$x$$, $t$y$t$ FROM t", 'SELECT ?, ?, ?, ? FROM t'],
    ['select * from t where id = $1 and c2 = 3 -- note\n', 'select * from t where id = $1 and c2 = ?'],
    ['SELECT /* a /* nested */ comment */ "Col 1" FROM "T"', 'SELECT "Col 1" FROM "T"'],
    ['SELECT x1, t2.c3 FROM t2', 'SELECT x1, t2.c3 FROM t2'],
    ['INSERT INTO t VALUES (1, \'a\'), (2, \'b\')', 'INSERT INTO t VALUES (?, ?), (?, ?)'],
  ])('%j → %j', (sql, shape) => {
    expect(normalizeSql(sql)).toBe(shape);
  });

  // Literals must never survive, whatever standard_conforming_strings says (PostgreSQL docs 4.1.2.1:
  // with it off, a backslash escapes in '…' too), and whatever PostgreSQL 16's numeric forms
  // (0x1F, 0o17, 0b101, 1_000) or a space before a quote (not an E'' string) make of the text.
  it.each([
    ["SELECT * FROM u WHERE name = 'O\\'Brien' AND ssn = 'secret-ssn'", ['Brien', 'secret']],
    ["SELECT 'C:\\', 'secret-path'", ['secret']],
    ["SELECT e 'a\\', 'secret-e'", ['secret']],
    ['SELECT 0xDEADBEEF, 0o777, 0b1011, 1_000_000', ['DEAD', '777', '1011', '000']],
  ])('%j keeps no literal', (sql, secrets) => {
    const shape = normalizeSql(sql);
    for (const s of secrets) expect(shape).not.toContain(s);
  });

  it('survives unterminated literals, quotes and comments', () => {
    for (const s of ["SELECT 'open", 'SELECT "open', 'SELECT /* open', 'SELECT $a$ open', 'SELECT $', "E'\\"]) expect(typeof normalizeSql(s)).toBe('string');
  });
});

describe('leadingQueryText', () => {
  it('reads a Query, a Parse (after its name), nothing else, at most RAW_MAX bytes', () => {
    expect(leadingQueryText(msg.query('SELECT 1'))).toBe('SELECT 1');
    expect(leadingQueryText(encodeParse('s1', Buffer.from('SELECT $1\0\0\0', 'latin1')))).toBe('SELECT $1');
    expect(leadingQueryText(Buffer.from([0x53, 0, 0, 0, 4]))).toBeNull();
    expect(leadingQueryText(msg.query('x'.repeat(5000)))!.length).toBe(RAW_MAX);
  });
});

describe('TenantShapes', () => {
  it('sums calls and time per shape, most time first', () => {
    const t = new TenantShapes(new ShapeBudget());
    t.shapeOf('SELECT 1').add(1);
    t.shapeOf('SELECT 2').add(2);
    t.shapeOf("SELECT 'x' FROM big").add(50);
    expect(t.top().map((s) => [s.text, s.calls, s.totalMs])).toEqual([
      ['SELECT ? FROM big', 1, 50],
      ['SELECT ?', 2, 3],
    ]);
  });

  it('a million distinct texts: at most MAX_SHAPES shapes, RAW_CACHE texts, NORMALIZE_PER_SECOND normalizations a second', () => {
    const budget = new ShapeBudget();
    const t = new TenantShapes(budget);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    for (let i = 0; i < 1_000_000; i++) t.shapeOf(`SELECT c${i} FROM t${i}`).add(1);
    const seconds = Math.max(1, Math.ceil((Date.now() - started) / 1000));
    expect(t.size).toBeLessThanOrEqual(MAX_SHAPES);
    expect(t.cachedTexts).toBeLessThanOrEqual(RAW_CACHE);
    expect(budget.shapes).toBe(t.size);
    expect(budget.raw).toBe(t.cachedTexts);
    // Every text not normalized within the rate goes to `other`, not to a queue; no call is lost.
    expect(t.other.calls).toBeGreaterThanOrEqual(1_000_000 - NORMALIZE_PER_SECOND * (seconds + 1));
    globalThis.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('a new shape evicts the one with the least time, and its cached texts stop counting to it', () => {
    const t = new TenantShapes(new ShapeBudget());
    for (let i = 0; i < MAX_SHAPES; i++) t.shapeOf(`SELECT c${i}`).add(100 + i);
    const least = t.shapeOf('SELECT c0');
    t.shapeOf('SELECT newcomer').add(1);
    expect(least.live).toBe(false);
    expect(t.top().some((s) => s.text === 'SELECT c0')).toBe(false);
    expect(t.size).toBe(MAX_SHAPES);
    // The evicted shape's text comes back as a new shape (when the rate allows), not the dead one.
    expect(t.shapeOf('SELECT c0')).not.toBe(least);
  });

  it('clear (a removed tenant) gives its shapes and cached texts back to the process-wide bounds', () => {
    const budget = new ShapeBudget();
    const gone = new TenantShapes(budget);
    for (let i = 0; i < MAX_SHAPES; i++) gone.shapeOf(`SELECT c${i}`).add(1);
    expect(budget.shapes).toBe(MAX_SHAPES);
    gone.clear();
    expect([budget.shapes, budget.raw, gone.size, gone.cachedTexts, gone.top().length]).toEqual([0, 0, 0, 0, 0]);
  });

  it('the process-wide bound is also a memory bound: 10,000 shapes of 1 KiB of short tokens take tens of MiB, not hundreds', () => {
    // A shape text built by += is a rope (one node per token, slices keeping the input): ~29 KiB
    // each. Measured after full collections (gc exposed for this test only).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const book = new LatencyBook();
    const tenants = MAX_TOTAL_SHAPES / MAX_SHAPES;
    for (let t = 0; t < tenants; t++) {
      const shapes = book.forTenant(`t${t}`).shapes;
      for (let i = 0; i < MAX_SHAPES; i++) {
        let sql = `SELECT c${t}_${i}`;
        while (sql.length < RAW_MAX - 4) sql += ', ab';
        // Flat, as leadingQueryText's latin1 decode gives it.
        shapes.shapeOf(Buffer.from(sql, 'latin1').toString('latin1')).add(1);
      }
    }
    gc();
    const mib = (process.memoryUsage().heapUsed - before) / 1048576;
    let total = 0;
    for (const l of book.entries().values()) total += l.shapes.size;
    expect(total).toBe(MAX_TOTAL_SHAPES);
    // Texts and cached raw texts: 2 × 10,000 × 1 KiB ≈ 20 MiB (docs/security.md).
    expect(mib).toBeLessThan(60);
  });

  it('a cleared (removed) tenant records no new shape until it is back (its clients finishing a transaction)', () => {
    const book = new LatencyBook();
    const shapes = book.forTenant('gone').shapes;
    shapes.shapeOf('SELECT 1');
    book.removedExcept(new Map());
    // A client of the removed tenant finishes its transaction before it is closed.
    expect(shapes.shapeOf('SELECT 2 AS still_in_transaction')).toBe(shapes.other);
    expect(shapes.size).toBe(0);
    // Added again: a new login (forTenant) records shapes again.
    expect(book.forTenant('gone').shapes.shapeOf('SELECT 3')).not.toBe(shapes.other);
  });

  it('the process-wide bound holds over tenants', () => {
    const budget = new ShapeBudget();
    budget.shapes = MAX_TOTAL_SHAPES; // as if the other tenants held them all
    const t = new TenantShapes(budget);
    expect(t.shapeOf('SELECT 1')).toBe(t.other);
    expect(t.top().map((s) => s.text)).toEqual([]);
    t.other.add(1);
    expect(t.top().map((s) => s.text)).toEqual([OTHER_TEXT]);
  });
});
