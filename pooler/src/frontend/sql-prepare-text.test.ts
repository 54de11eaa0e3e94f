import { describe, expect, it } from 'vitest';
import { SQL_DEALLOCATE, SQL_DEALLOCATE_ALL, SQL_EXECUTE, SQL_PREPARE, beginsWithPrepare, charCount, parseSqlPrepare, statementEnd } from './sql-prepare-text.ts';

const parse = (s: string, backslash = false) => parseSqlPrepare(s, backslash);

describe('parseSqlPrepare', () => {
  it('reads PREPARE with and without types, case folding and quoting', () => {
    const p = parse('PREPARE Foo(int, text) AS SELECT $1, $2;')!;
    expect(p.kind).toBe(SQL_PREPARE);
    expect(p.name!.name).toBe('foo');
    expect('PREPARE Foo(int, text) AS SELECT $1, $2;'.substring(p.restStart, p.restEnd)).toBe('(int, text) AS SELECT $1, $2');
    expect(p.single).toBe(true);
    expect(parse('  -- c\n /* a /* nested */ b */ prepare "My ""Name""" as select 1')!.name!.name).toBe('My "Name"');
    expect(parse('PREPARE "" AS SELECT 1')).toBeNull();
    // Two-phase commit, and a syntax error: the server's to answer.
    expect(parse("PREPARE TRANSACTION 'gid'")).toBeNull();
    expect(parse('PREPARE q SELECT 1')).toBeNull();
    expect(parse('PREPARE transaction AS SELECT 1')!.name!.name).toBe('transaction');
    expect(parse('PREPARE U&"d\\0061t" AS SELECT 1')).toBeNull();
  });

  it('tells one statement from several, past quotes, dollar quotes and comments', () => {
    expect(parse("PREPARE a AS SELECT ';' -- ;\n ;  ;  /* ; */")!.single).toBe(true);
    expect(parse('PREPARE a AS SELECT $$;$$, $t$ $$ ; $t$, $1; SELECT 1')!.single).toBe(false);
    expect(parse('PREPARE a AS SELECT "semi;colon" FROM t')!.single).toBe(true);
    expect(parse("PREPARE a AS SELECT E'\\';' ")!.single).toBe(true);
    // standard_conforming_strings off: a backslash escapes in plain strings too.
    expect(parse("PREPARE a AS SELECT '\\'; x'", true)!.single).toBe(true);
    expect(parse("PREPARE a AS SELECT '\\'; x'", false)!.single).toBe(false);
    expect(statementEnd('select a$b; c', 0, false)).toBe(10);
  });

  it('reads EXECUTE, EXPLAIN ... EXECUTE and DEALLOCATE', () => {
    expect(parse('EXECUTE q(1, 2)')!.kind).toBe(SQL_EXECUTE);
    const e = parse('EXPLAIN (ANALYZE, COSTS OFF) EXECUTE Q(1)')!;
    expect([e.kind, e.name!.name]).toEqual([SQL_EXECUTE, 'q']);
    expect(parse('explain analyze verbose execute q')!.name!.name).toBe('q');
    expect(parse('EXPLAIN SELECT 1')).toBeNull();
    expect(parse('DEALLOCATE PREPARE x')!.name!.name).toBe('x');
    expect(parse('DEALLOCATE prepare')!.name!.name).toBe('prepare');
    expect(parse('deallocate all;')!.kind).toBe(SQL_DEALLOCATE_ALL);
    expect(parse('DEALLOCATE "all"')!.kind).toBe(SQL_DEALLOCATE);
    expect(parse('SELECT 1')).toBeNull();
    const ctas = "CREATE TEMP TABLE IF NOT EXISTS t (a, \"as\") WITH (fillfactor = 70) ON COMMIT DROP AS  EXECUTE Q(1, 'as')";
    const c = parse(ctas)!;
    expect([c.kind, c.name!.name, ctas.substring(c.name!.start, c.name!.end)]).toEqual([SQL_EXECUTE, 'q', 'Q']);
    expect(parse('CREATE TABLE t AS SELECT 1')).toBeNull();
    expect(parse('CREATE TABLE t (a int)')).toBeNull();
    expect(parse("CREATE FUNCTION f() RETURNS int AS $$ EXECUTE q $$ LANGUAGE sql")).toBeNull();
  });

  it('truncates names to 63 bytes at a character boundary, as NAMEDATALEN does', () => {
    const long = 'x'.repeat(62) + 'éé';
    const latin1 = Buffer.from(`PREPARE ${long} AS SELECT 1`, 'utf8').toString('latin1');
    const n = parse(latin1)!.name!;
    expect(n.name).toBe('x'.repeat(62));
    expect(n.untruncated).toBe(long);
    expect(parse('EXECUTE ' + 'y'.repeat(63))!.name!.untruncated).toBeNull();
  });
});

describe('beginsWithPrepare (fast path)', () => {
  const check = (s: string, complete = true) => beginsWithPrepare(Buffer.from(s), 0, s.length, complete);
  it('answers yes, no, or cannot tell yet', () => {
    expect(check('PREPARE a AS SELECT 1')).toBe(1);
    expect(check('  /* x */ prepare a')).toBe(1);
    expect(check('PREPAREDNESS')).toBe(0);
    expect(check('SELECT 1')).toBe(0);
    expect(check('')).toBe(0);
    expect(check('  /* unfinished', false)).toBe(-1);
    expect(check('PREP', false)).toBe(-1);
    expect(check('PRIX', false)).toBe(0);
  });
});

it('charCount counts UTF-8 characters', () => {
  const s = Buffer.from('aé€b', 'utf8').toString('latin1');
  expect(charCount(s, 0, s.length)).toBe(4);
});
