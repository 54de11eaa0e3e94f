// Which Query texts the pooler takes for one LISTEN/UNLISTEN, and the channel PostgreSQL would
// listen on for them (its scanner's identifier folding).
import { describe, expect, it } from 'vitest';
import { mayBeNotifyStatement, parseNotifyStatement, startsLikeNotify, stringStartsLikeNotify } from './notify-statement.ts';

describe('parseNotifyStatement', () => {
  it.each([
    ['LISTEN foo', true, 'foo'],
    ['listen Foo', true, 'foo'],
    ['LISTEN "Foo"', true, 'Foo'],
    ['LISTEN "a ""quoted"" name"', true, 'a "quoted" name'],
    ['LISTEN"x"', true, 'x'],
    ['  LISTEN foo ;  ', true, 'foo'],
    ['-- c\nLISTEN /* a /* nested */ comment */ foo; -- trailing', true, 'foo'],
    ['LISTEN ünïcödé', true, 'ünïcödé'],
    ['LISTEN ÄB', true, 'Äb'],
    ['LISTEN a$1', true, 'a$1'],
    ['LISTEN action', true, 'action'], // an unreserved keyword is a ColId
    ['UNLISTEN foo', false, 'foo'],
    ['unlisten *', false, null],
    ['UNLISTEN  * ;', false, null],
  ])('%j', (sql, listen, channel) => {
    expect(parseNotifyStatement(sql)).toEqual({ listen, channel, tooLong: false });
  });

  it.each([
    'LISTEN',
    'LISTEN *',
    'LISTENfoo',
    'LISTEN foo bar',
    'LISTEN foo; SELECT 1',
    'SELECT 1; LISTEN foo',
    'LISTEN ""',
    'LISTEN "unterminated',
    'LISTEN select', // reserved
    'LISTEN left', // type_func_name keyword
    'LISTEN U&"d0061t"',
    'LISTEN foo /* unterminated',
    'LISTEN 1abc',
    'NOTIFY foo',
    'UNLISTEN',
  ])('not one LISTEN/UNLISTEN: %j', (sql) => {
    expect(parseNotifyStatement(sql)).toBeNull();
  });

  it('a name of 64 bytes or more is too long (PostgreSQL would truncate it to 63)', () => {
    expect(parseNotifyStatement(`LISTEN ${'a'.repeat(63)}`)?.tooLong).toBe(false);
    expect(parseNotifyStatement(`LISTEN ${'a'.repeat(64)}`)?.tooLong).toBe(true);
    expect(parseNotifyStatement(`LISTEN "${'é'.repeat(32)}"`)?.tooLong).toBe(true);
  });

  it('mayBeNotifyStatement lets through only L, U, white space and comment starts', () => {
    for (const ch of 'LlUu \n\t\r-/') expect(mayBeNotifyStatement(ch.charCodeAt(0)), ch).toBe(true);
    for (const ch of 'SsIiBbCc(;') expect(mayBeNotifyStatement(ch.charCodeAt(0)), ch).toBe(false);
    expect(mayBeNotifyStatement(-1)).toBe(false);
  });

  it('startsLikeNotify: the keyword (any case, after white space) or a comment; not UPDATE, UNLISTED, SELECT', () => {
    const yes = ['LISTEN x', 'listen x', '\n\t UNLISTEN *', 'unlisten x', '-- c\nLISTEN x', '/* c */ LISTEN x'];
    const no = ['UPDATE t SET a = 1', 'UNLIST', 'LIST x', '\nSELECT 1', '', '   ', 'UNION'];
    for (const t of yes) expect(startsLikeNotify(Buffer.from(t), 0, Buffer.byteLength(t)), t).toBe(true);
    for (const t of yes) expect(stringStartsLikeNotify(t), t).toBe(true);
    for (const t of no) expect(startsLikeNotify(Buffer.from(t), 0, Buffer.byteLength(t)), t).toBe(false);
    for (const t of no) expect(stringStartsLikeNotify(t), t).toBe(false);
  });
});
