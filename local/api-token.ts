// The local control API's bearer token: 32 random bytes, base64url (RFC 4648 §5), in
// `<stateDir>/api-token`, mode 0600. Created at the first `switchyard start` and reused after, so
// the CLI, scripts and the console keep working across restarts; `rm .switchyard/api-token` and a
// restart issue a new one. Clients send it as `Authorization: Bearer <token>` (RFC 6750 §2.1).
//
// Why a token on a loopback-only API: any web page the user opens can send requests to
// 127.0.0.1 (simple cross-site POSTs, or DNS rebinding to a name that resolves to 127.0.0.1).
// The browser cannot read a file in the state directory, so a page never has the token.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const API_TOKEN_FILE = 'api-token';
export const API_TOKEN_BYTES = 32;
/** 32 bytes in base64url without padding: 43 characters. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function apiTokenPath(stateDir: string): string {
  return join(stateDir, API_TOKEN_FILE);
}

/** The token in `<stateDir>/api-token`, or undefined when there is none (or it is not a token). */
export function readApiToken(stateDir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(apiTokenPath(stateDir), 'utf8');
  } catch {
    return undefined;
  }
  const token = text.trim();
  return TOKEN_SHAPE.test(token) ? token : undefined;
}

/**
 * The stack's token: the one already in the state directory (its mode set back to 0600 if it was
 * widened), else a new one written there. Written to a temporary file created 0600 with O_EXCL
 * and renamed into place, so the token is never readable by others, even for a moment.
 */
export function ensureApiToken(stateDir: string): string {
  const file = apiTokenPath(stateDir);
  const existing = readApiToken(stateDir);
  if (existing !== undefined) {
    chmodSync(file, 0o600);
    return existing;
  }
  const token = randomBytes(API_TOKEN_BYTES).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return token;
}
