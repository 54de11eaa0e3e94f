// Our verifiers are byte-for-byte what PostgreSQL stores in pg_authid for the same password, salt
// and iteration count, including SASLprep's normalisations and PostgreSQL's raw-password fallback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMd5Verifier, createScramVerifier, parseVerifier } from '../../shared/src/auth/verifier.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';

/** A SQL string literal built from ASCII only (U&'' escapes), so no client encoding is involved. */
function sqlLiteral(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === "'") out += "''";
    else if (ch === '\\') out += '\\\\';
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += '\\+' + cp.toString(16).padStart(6, '0');
  }
  return `U&'${out}'`;
}

const passwords: [string, string][] = [
  ['ASCII', 'correct horse battery staple'],
  ['quote and backslash', `it's a \\ test`],
  ['non-ASCII (NFKC-stable)', 'pässwörd-密码'],
  ['compatibility character (NFKC changes it)', '\u2168 \uFB01'],
  ['soft hyphen (mapped to nothing)', 'pass\u00ADword'],
  ['non-ASCII space', 'pass\u2003word'],
  ['combining sequence (NFC composes it)', 'e\u0301té'],
  ['only a mapped-to-nothing character (PostgreSQL falls back to raw)', '\u00AD'],
  ['prohibited control character next to non-ASCII', 'ä\u0007'],
  ['ASCII control character', 'tab\there'],
  ['unassigned code point in Unicode 3.2', 'x\u0221y'],
  ['bidi violation (RandALCat mixed with L)', '\u05D0a'],
];

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe('verifiers match PostgreSQL', () => {
  it.each(passwords.map(([name, pw], i) => [name, pw, i] as const))('SCRAM-SHA-256: %s', async (_name, password, i) => {
    const role = `scram_role_${i}`;
    const stored = await pg.psql(
      `SET password_encryption = 'scram-sha-256'; CREATE ROLE ${role} LOGIN PASSWORD ${sqlLiteral(password)}; SELECT rolpassword FROM pg_authid WHERE rolname = '${role}'`,
    );
    const parsed = parseVerifier(stored);
    if (parsed.kind !== 'scram') throw new Error(`expected a SCRAM verifier, got ${parsed.kind}`);
    expect(parsed.iterations).toBe(4096);
    expect(parsed.salt.length).toBe(16);
    expect(createScramVerifier(password, { salt: parsed.salt, iterations: parsed.iterations })).toBe(stored);
  });

  it('SCRAM-SHA-256 with a wrong password differs (the comparison can fail)', async () => {
    const stored = await pg.psql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_other LOGIN PASSWORD 'right'; SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_other'`);
    const parsed = parseVerifier(stored);
    if (parsed.kind !== 'scram') throw new Error('expected SCRAM');
    expect(createScramVerifier('wrong', { salt: parsed.salt, iterations: parsed.iterations })).not.toBe(stored);
  });

  it('md5', async () => {
    const password = 'md5 pässword';
    const stored = await pg.psql(
      `SET password_encryption = 'md5'; CREATE ROLE md5_role LOGIN PASSWORD ${sqlLiteral(password)}; SELECT rolpassword FROM pg_authid WHERE rolname = 'md5_role'`,
    );
    expect(parseVerifier(stored)).toEqual({ kind: 'md5', hash: stored.slice(3) });
    expect(createMd5Verifier(password, 'md5_role')).toBe(stored);
  });
});
