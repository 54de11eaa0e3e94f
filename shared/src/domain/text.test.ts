import { describe, expect, it } from 'vitest';
import { CONTROL_CHARACTER_MESSAGE, invalidTextIn, MAX_TEXT_ISSUES, textProblem, UNPAIRED_SURROGATE_MESSAGE } from './text.ts';

describe('plain text (domain/text.ts)', () => {
  it('refuses exactly Cc and unpaired surrogates', () => {
    for (let c = 0; c <= 0xff; c++) {
      const cc = c <= 0x1f || (c >= 0x7f && c <= 0x9f);
      expect(textProblem(`a${String.fromCharCode(c)}b`), `U+${c.toString(16)}`).toBe(cc ? CONTROL_CHARACTER_MESSAGE : undefined);
    }
    expect(textProblem('\ud800')).toBe(UNPAIRED_SURROGATE_MESSAGE);
    expect(textProblem('x\udc00')).toBe(UNPAIRED_SURROGATE_MESSAGE);
    expect(textProblem('\ud83d\ude00 Ünïcode \u2028')).toBeUndefined();
  });

  it('walks objects, arrays and keys, naming paths and never values', () => {
    expect(invalidTextIn({ a: ['ok', 'b\0d'], 'k\n': 1, n: { m: '\x7f' }, x: 3, y: null })).toEqual([
      { path: 'a.1', message: CONTROL_CHARACTER_MESSAGE },
      { path: '(key)', message: CONTROL_CHARACTER_MESSAGE },
      { path: 'n.m', message: CONTROL_CHARACTER_MESSAGE },
    ]);
    expect(invalidTextIn('\0')).toEqual([{ path: '(root)', message: CONTROL_CHARACTER_MESSAGE }]);
    expect(invalidTextIn(undefined)).toEqual([]);
  });

  it('is bounded: a deeply nested value does not overflow the stack, and issues are capped', () => {
    let deep: unknown = '\0';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const [issue, ...rest] = invalidTextIn(deep);
    expect(rest).toEqual([]);
    expect(issue?.path).toBe('0.0.0.0.0.0.0.0.….0.0.0.0.0.0.0.0');
    expect(invalidTextIn(Array.from({ length: 1000 }, () => '\0'))).toHaveLength(MAX_TEXT_ISSUES);
  });
});
