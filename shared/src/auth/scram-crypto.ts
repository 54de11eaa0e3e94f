// SCRAM-SHA-256 primitives (RFC 5802 §2.2 and §3, with SHA-256 per RFC 7677), shared by the
// verifier code (control plane and CLI), the pooler's SCRAM server (toward clients) and its SCRAM
// client (toward PostgreSQL).
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import saslprep from '@mongodb-js/saslprep';

/** SHA-256 output size; StoredKey, ServerKey, proofs and signatures all have this length. */
export const SCRAM_KEY_LENGTH = 32;

/** H(str): SHA-256. */
export function h(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** HMAC(key, str) with SHA-256. */
export function hmac(key: Buffer, data: Buffer | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Hi(str, salt, i): PBKDF2 with HMAC-SHA-256 and a 32-byte output (RFC 5802 §2.2). */
export function hi(password: Buffer | string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(password, salt, iterations, SCRAM_KEY_LENGTH, 'sha256');
}

export function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw new RangeError('xor of buffers of different lengths');
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** Constant-time equality that is also safe (false, not a throw) for different lengths. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict, padded base64 (Buffer.from silently skips junk); undefined when invalid. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  return BASE64_RE.test(s) ? Buffer.from(s, 'base64') : undefined;
}

export interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"). */
export function scramKeys(saltedPassword: Buffer): ScramKeys {
  const clientKey = hmac(saltedPassword, 'Client Key');
  return { clientKey, storedKey: h(clientKey), serverKey: hmac(saltedPassword, 'Server Key') };
}

/**
 * The password as SCRAM hashes it: SASLprep (RFC 4013, required by RFC 7677 / RFC 5802 §2.2)
 * with PostgreSQL's leniency (src/common/saslprep.c, used by both the server and libpq): when
 * SASLprep fails (prohibited or unassigned code points, bidi violations) or maps the password to
 * nothing, the raw password is used, so any password PostgreSQL accepts works here too and hashes
 * identically.
 */
export function normalizePassword(password: string): string {
  // pg_saslprep: pure ASCII needs no processing (and ASCII control characters are kept as is).
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  try {
    const prepared = saslprep(password);
    return prepared === '' ? password : prepared;
  } catch {
    return password;
  }
}
