// md5 password authentication (PostgreSQL docs, "Password Authentication"): the client sends
// "md5" + md5hex(md5hex(password || user) || salt), where the inner hash is exactly what
// pg_authid stores, so the pooler can verify against a stored md5 verifier without the password.
// md5 is weak (the stored hash is a password equivalent); prefer SCRAM. Kept because older
// drivers and existing databases still use it.
import { createHash, timingSafeEqual } from 'node:crypto';

function md5Hex(...parts: (string | Buffer)[]): string {
  const hash = createHash('md5');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}

/** The PasswordMessage content answering AuthenticationMD5Password as `user` with `password`. */
export function md5Response(password: string, user: string, salt: Buffer): string {
  return 'md5' + md5Hex(md5Hex(Buffer.from(password, 'utf8'), Buffer.from(user, 'utf8')), salt);
}

/**
 * Checks a client's md5 response against a stored verifier ("md5" + 32 hex; the prefix may be
 * omitted). Constant time in the response's content. A malformed stored hash never matches.
 */
export function verifyMd5Response(storedHash: string, salt: Buffer, response: string | Buffer): boolean {
  const hex = storedHash.startsWith('md5') ? storedHash.slice(3) : storedHash;
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return false;
  const expected = Buffer.from('md5' + md5Hex(hex.toLowerCase(), salt), 'latin1');
  const got = typeof response === 'string' ? Buffer.from(response, 'utf8') : response;
  // Compare equal-length buffers only; a length difference is not secret (always 35 when valid).
  return got.length === expected.length && timingSafeEqual(got, expected);
}
