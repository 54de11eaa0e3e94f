import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiTokenPath, ensureApiToken, readApiToken } from './api-token.ts';

describe('the local API token', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is 32 random bytes in base64url, in <stateDir>/api-token with mode 0600, reused after', () => {
    expect(readApiToken(dir)).toBeUndefined();
    const token = ensureApiToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(statSync(apiTokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(readFileSync(apiTokenPath(dir), 'utf8')).toBe(`${token}\n`);
    expect(ensureApiToken(dir)).toBe(token);
    expect(readApiToken(dir)).toBe(token);
    const other = mkdtempSync(join(tmpdir(), 'switchyard-token-'));
    try {
      expect(ensureApiToken(other)).not.toBe(token);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('sets a widened mode back to 0600, and replaces a file that holds no token', () => {
    const token = ensureApiToken(dir);
    chmodSync(apiTokenPath(dir), 0o644);
    expect(ensureApiToken(dir)).toBe(token);
    expect(statSync(apiTokenPath(dir)).mode & 0o777).toBe(0o600);

    writeFileSync(apiTokenPath(dir), 'short\n', { mode: 0o644 });
    expect(readApiToken(dir)).toBeUndefined();
    const fresh = ensureApiToken(dir);
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(apiTokenPath(dir)).mode & 0o777).toBe(0o600);
  });
});
