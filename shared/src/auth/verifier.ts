// Password verifiers in PostgreSQL's own stored formats (pg_authid.rolpassword), so a value can be
// copied from a PostgreSQL server into Switchyard and back:
//   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
//       (src/backend/libpq/auth-scram.c, scram_build_secret / parse_scram_secret)
//   md5<32 lowercase hex of md5(password || username)>   (src/common/md5_common.c, pg_md5_encrypt)
// A verifier lets us check a password without storing it; it is still a secret (an md5 hash is a
// password equivalent for md5 auth), so it never appears in logs or error messages.
import { createHash, randomBytes } from 'node:crypto';
import { decodeBase64Strict, hi, normalizePassword, SCRAM_KEY_LENGTH, scramKeys } from './scram-crypto.ts';

/** PostgreSQL's default scram_iterations. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;
/** PostgreSQL's SCRAM_DEFAULT_SALT_LEN. */
export const DEFAULT_SALT_LENGTH = 16;

export interface ScramVerifier {
  kind: 'scram';
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface Md5Verifier {
  kind: 'md5';
  /** The 32 lowercase hex digits, without the "md5" prefix. */
  hash: string;
}

export type Verifier = ScramVerifier | Md5Verifier;

export class InvalidVerifierError extends Error {
  readonly code = 'INVALID_VERIFIER';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidVerifierError';
  }
}

/** Creates a SCRAM-SHA-256 verifier string exactly as PostgreSQL's `PASSWORD '...'` would store it. */
export function createScramVerifier(password: string, opts: { iterations?: number; salt?: Buffer } = {}): string {
  const iterations = opts.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) {
    throw new InvalidVerifierError('iterations must be an integer between 1 and 2147483647');
  }
  const salt = opts.salt ?? randomBytes(DEFAULT_SALT_LENGTH);
  if (salt.length === 0) throw new InvalidVerifierError('salt must not be empty');
  const { storedKey, serverKey } = scramKeys(hi(normalizePassword(password), salt, iterations));
  return formatScramVerifier({ kind: 'scram', iterations, salt, storedKey, serverKey });
}

export function formatScramVerifier(v: ScramVerifier): string {
  return `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
}

/** md5 verifier: "md5" + hex(md5(password || user)), PostgreSQL's pg_md5_encrypt. */
export function createMd5Verifier(password: string, user: string): string {
  return 'md5' + createHash('md5').update(password, 'utf8').update(user, 'utf8').digest('hex');
}

const SCRAM_RE = /^SCRAM-SHA-256\$(\d{1,10}):([^$:]+)\$([^$:]+):([^$:]+)$/;
const MD5_RE = /^md5([0-9a-fA-F]{32})$/;
function decodeBase64(s: string, what: string): Buffer {
  const b = decodeBase64Strict(s);
  if (b === undefined) throw new InvalidVerifierError(`invalid SCRAM verifier: ${what} is not valid base64`);
  return b;
}

/**
 * Parses a stored verifier. Throws InvalidVerifierError (without echoing the input) for anything
 * else, including plaintext passwords, which PostgreSQL would also accept but Switchyard never stores.
 * md5 hex digits are accepted in either case and returned lower-case.
 */
export function parseVerifier(s: string): Verifier {
  const md5 = MD5_RE.exec(s);
  if (md5) return { kind: 'md5', hash: (md5[1] as string).toLowerCase() };
  const m = SCRAM_RE.exec(s);
  if (!m) {
    throw new InvalidVerifierError('not a verifier: expected "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" or "md5" + 32 hex digits');
  }
  const iterations = Number(m[1]);
  if (iterations < 1 || iterations > 0x7fffffff) throw new InvalidVerifierError('invalid SCRAM verifier: iteration count out of range');
  const salt = decodeBase64(m[2] as string, 'salt');
  const storedKey = decodeBase64(m[3] as string, 'StoredKey');
  const serverKey = decodeBase64(m[4] as string, 'ServerKey');
  if (salt.length === 0) throw new InvalidVerifierError('invalid SCRAM verifier: empty salt');
  if (storedKey.length !== SCRAM_KEY_LENGTH || serverKey.length !== SCRAM_KEY_LENGTH) {
    throw new InvalidVerifierError(`invalid SCRAM verifier: StoredKey and ServerKey must be ${SCRAM_KEY_LENGTH} bytes`);
  }
  return { kind: 'scram', iterations, salt, storedKey, serverKey };
}

/** True when `s` parses as a verifier (for validation messages that must not leak the value). */
export function isVerifier(s: string): boolean {
  try {
    parseVerifier(s);
    return true;
  } catch {
    return false;
  }
}
