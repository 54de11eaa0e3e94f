// Verifier strings: what we create parses back, PostgreSQL's layout is followed exactly, and
// malformed values are refused with a typed error that never echoes the (secret) input.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { h, hi, hmac, normalizePassword } from './scram-crypto.ts';
import { createMd5Verifier, createScramVerifier, InvalidVerifierError, parseVerifier } from './verifier.ts';

const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'); // RFC 7677 §3's salt

describe('createScramVerifier', () => {
  it('follows SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey> with RFC 5802 key derivation', () => {
    const v = createScramVerifier('pencil', { salt, iterations: 4096 });
    const salted = hi('pencil', salt, 4096);
    const storedKey = h(hmac(salted, 'Client Key'));
    const serverKey = hmac(salted, 'Server Key');
    expect(v).toBe(`SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${storedKey.toString('base64')}:${serverKey.toString('base64')}`);
    expect(parseVerifier(v)).toEqual({ kind: 'scram', iterations: 4096, salt, storedKey, serverKey });
  });

  it('defaults to 4096 iterations and a fresh 16-byte salt', () => {
    const a = parseVerifier(createScramVerifier('x'));
    const b = parseVerifier(createScramVerifier('x'));
    expect(a.kind === 'scram' && a.iterations).toBe(4096);
    expect(a.kind === 'scram' && a.salt.length).toBe(16);
    expect(a.kind === 'scram' && b.kind === 'scram' && a.salt.equals(b.salt)).toBe(false);
  });

  it('applies SASLprep, falling back to the raw password like PostgreSQL', () => {
    // RFC 4013 §3 examples: soft hyphen maps to nothing, ROMAN NUMERAL NINE normalises to "IX".
    expect(createScramVerifier('I\u00ADX', { salt })).toBe(createScramVerifier('IX', { salt }));
    expect(createScramVerifier('\u2168', { salt })).toBe(createScramVerifier('IX', { salt }));
    expect(normalizePassword('a\u00A0b')).toBe('a b'); // non-ASCII space → space
    expect(normalizePassword('ä\u0007')).toBe('ä\u0007'); // prohibited → raw
    expect(normalizePassword('\u00AD')).toBe('\u00AD'); // maps to nothing → raw
    expect(normalizePassword('plain\u0001ascii')).toBe('plain\u0001ascii');
  });

  it('rejects bad options', () => {
    expect(() => createScramVerifier('x', { iterations: 0 })).toThrow(InvalidVerifierError);
    expect(() => createScramVerifier('x', { iterations: 1.5 })).toThrow(InvalidVerifierError);
    expect(() => createScramVerifier('x', { salt: Buffer.alloc(0) })).toThrow(InvalidVerifierError);
  });
});

describe('createMd5Verifier', () => {
  it('is "md5" + md5(password || user)', () => {
    const expected = 'md5' + createHash('md5').update('secretalice').digest('hex');
    expect(createMd5Verifier('secret', 'alice')).toBe(expected);
    expect(parseVerifier(expected)).toEqual({ kind: 'md5', hash: expected.slice(3) });
  });
  it('accepts upper-case hex and normalises it', () => {
    const v = createMd5Verifier('secret', 'alice');
    expect(parseVerifier('md5' + v.slice(3).toUpperCase())).toEqual({ kind: 'md5', hash: v.slice(3) });
  });
});

describe('parseVerifier rejects', () => {
  const key = Buffer.alloc(32, 1).toString('base64');
  const cases: [string, string][] = [
    ['a plaintext password', 'hunter2'],
    ['an empty string', ''],
    ['md5 with 31 digits', 'md5' + 'a'.repeat(31)],
    ['md5 with non-hex', 'md5' + 'g'.repeat(32)],
    ['another SCRAM hash', `SCRAM-SHA-1$4096:c2FsdA==$${key}:${key}`],
    ['zero iterations', `SCRAM-SHA-256$0:c2FsdA==$${key}:${key}`],
    ['too many iterations', `SCRAM-SHA-256$2147483648:c2FsdA==$${key}:${key}`],
    ['negative iterations', `SCRAM-SHA-256$-1:c2FsdA==$${key}:${key}`],
    ['bad base64 salt', `SCRAM-SHA-256$4096:c2Fs*A==$${key}:${key}`],
    ['unpadded base64', `SCRAM-SHA-256$4096:c2FsdA$${key}:${key}`],
    ['short StoredKey', `SCRAM-SHA-256$4096:c2FsdA==$${Buffer.alloc(31).toString('base64')}:${key}`],
    ['long ServerKey', `SCRAM-SHA-256$4096:c2FsdA==$${key}:${Buffer.alloc(33).toString('base64')}`],
    ['missing ServerKey', `SCRAM-SHA-256$4096:c2FsdA==$${key}`],
    ['trailing junk', `SCRAM-SHA-256$4096:c2FsdA==$${key}:${key}$x`],
  ];
  it.each(cases)('%s', (_name, input) => {
    let err: unknown;
    try {
      parseVerifier(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidVerifierError);
    expect((err as InvalidVerifierError).code).toBe('INVALID_VERIFIER');
    if (input.length > 3) expect((err as Error).message).not.toContain(input);
  });
});
