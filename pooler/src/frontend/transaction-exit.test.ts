import { describe, expect, it } from 'vitest';
import { firstStatement } from './transaction-exit.ts';

const kind = (sql: string): string => firstStatement(Buffer.from(sql, 'utf8')).kind;

describe('firstStatement', () => {
  it.each([
    'ROLLBACK',
    'rollback',
    'ABORT',
    'commit',
    'END',
    'rollback work',
    'COMMIT TRANSACTION',
    'end transaction;',
    '  \t\n\r\fROLLBACK\n',
    'ROLLBACK AND NO CHAIN',
    'abort work and no chain',
    '/* c */ROLLBACK/* d */',
    '/* a /* nested */ comment */ rollback -- x\n work',
    '-- only a line\rROLLBACK',
    ';;ROLLBACK;;',
  ])('%j ends the block', (sql) => expect(kind(sql)).toBe('end'));

  it.each(['ROLLBACK AND CHAIN', 'commit work and chain', 'END TRANSACTION AND CHAIN;', 'ABORT AND CHAIN -- c'])('%j ends and chains', (sql) =>
    expect(kind(sql)).toBe('chain'),
  );

  it.each(['ROLLBACK TO SAVEPOINT s', 'rollback to s', 'ROLLBACK WORK TO "s"', 'rollback transaction to savepoint s x'])('%j is a savepoint rollback', (sql) =>
    expect(kind(sql)).toBe('savepoint'),
  );

  it.each([
    "ROLLBACK PREPARED 'x'",
    "COMMIT PREPARED 'x'",
    "PREPARE TRANSACTION 'x'",
    'RELEASE SAVEPOINT s',
    'SAVEPOINT s',
    'BEGIN',
    'SELECT 1; ROLLBACK',
    'ROLLBACK x',
    'ROLLBACK WORK WORK',
    'ROLLBACK AND',
    'ROLLBACK AND NO',
    'ROLLBACK CHAIN',
    'ROLLBACK AND CHAIN AND CHAIN',
    '"rollback"',
    'ROLLBACK.',
    'ROLLBACK\v',
    'ROLLBACK /* unterminated',
    '/* unterminated ROLLBACK',
    'ROLLBACKWORK',
    'rollback_',
    'rollback1',
    'rollback$',
    // Non-ASCII letters make an identifier: U+212A KELVIN SIGN lower-cases to "k" in JavaScript.
    'ROLLBAC\u212A',
    'ROLLBACKé',
  ])('%j is not an exit statement', (sql) => expect(kind(sql)).toBe('other'));

  it('an empty query', () => {
    expect(kind('')).toBe('empty');
    expect(kind(' -- nothing\n /* at all */ ;; ')).toBe('empty');
  });

  it('tells where the rest starts and whether it holds a statement', () => {
    const sql = Buffer.from("ROLLBACK; INSERT INTO t VALUES ('x')");
    const r = firstStatement(sql);
    expect(r).toEqual({ kind: 'end', restStart: 9, more: true });
    expect(sql.toString('utf8', r.restStart)).toBe(" INSERT INTO t VALUES ('x')");
    expect(firstStatement(Buffer.from('ROLLBACK; -- done\n ;; /* */'))).toMatchObject({ kind: 'end', more: false });
    expect(firstStatement(Buffer.from('ROLLBACK'))).toEqual({ kind: 'end', restStart: 8, more: false });
    // An unterminated comment after it is left to the server (which reports the syntax error).
    expect(firstStatement(Buffer.from('ROLLBACK; /* x'))).toMatchObject({ kind: 'end', more: true });
    expect(firstStatement(Buffer.from('ROLLBACK AND CHAIN; SELECT 1'))).toMatchObject({ kind: 'chain', more: true });
  });

  it('reads only the given range (a Query body without its NUL)', () => {
    const body = Buffer.from('ROLLBACK\0');
    expect(firstStatement(body, 0, body.length - 1)).toEqual({ kind: 'end', restStart: 8, more: false });
  });

  it('stops after a few words: a long statement is never an exit statement', () => {
    expect(kind('ROLLBACK ' + 'work '.repeat(100_000))).toBe('other');
  });
});
