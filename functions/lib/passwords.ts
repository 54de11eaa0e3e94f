// Generated passwords: 32 bytes from the CSPRNG (256 bits, well above NIST SP 800-63B's minimum
// for memorised secrets), base64url (RFC 4648 §5) so they survive URLs, connection strings and
// shells without quoting.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export function generatePassword(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time string comparison (for comparing a submitted secret with a decrypted one). */
export function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
