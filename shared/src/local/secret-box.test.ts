import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretError } from '../domain/errors.ts';
import { KeyFileError, LocalSecretBox, canonicalContext } from './secret-box.ts';

describe('local secret box (AES-256-GCM)', () => {
  let dir: string;
  let keyFile: string;
  const ctx = { tenantId: 'acme-prod', clusterId: 'main' };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-secret-'));
    keyFile = join(dir, 'secret.key');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the key file with mode 0600 and reuses it', async () => {
    const a = await LocalSecretBox.fromKeyFile(keyFile);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
    const ct = await a.encrypt('s3cret', ctx);
    const b = await LocalSecretBox.fromKeyFile(keyFile);
    expect(await b.decrypt(ct, ctx)).toBe('s3cret');
  });

  it('refuses a key file readable by others', async () => {
    await LocalSecretBox.fromKeyFile(keyFile);
    chmodSync(keyFile, 0o644);
    await expect(LocalSecretBox.fromKeyFile(keyFile)).rejects.toBeInstanceOf(KeyFileError);
  });

  it('produces a self-describing ciphertext: version 1 | 12-byte iv | 16-byte tag | data, fresh iv each time', async () => {
    const box = await LocalSecretBox.fromKeyFile(keyFile);
    const a = Buffer.from(await box.encrypt('pw', ctx), 'base64');
    const b = Buffer.from(await box.encrypt('pw', ctx), 'base64');
    expect(a[0]).toBe(1);
    expect(a.length).toBe(1 + 12 + 16 + 2);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.toString('latin1')).not.toContain('pw');
  });

  it('decrypts only under the same context (key order does not matter)', async () => {
    const box = await LocalSecretBox.fromKeyFile(keyFile);
    const ct = await box.encrypt('pässwörd ✓', ctx);
    expect(await box.decrypt(ct, { clusterId: 'main', tenantId: 'acme-prod' })).toBe('pässwörd ✓');
    await expect(box.decrypt(ct, { tenantId: 'acme-prod', clusterId: 'other' })).rejects.toBeInstanceOf(SecretError);
    await expect(box.decrypt(ct, { tenantId: 'evil-corp', clusterId: 'main' })).rejects.toBeInstanceOf(SecretError);
    await expect(box.decrypt(ct, { tenantId: 'acme-prod' })).rejects.toBeInstanceOf(SecretError);
  });

  it('rejects tampered data, another key and garbage', async () => {
    const box = await LocalSecretBox.fromKeyFile(keyFile);
    const raw = Buffer.from(await box.encrypt('pw', ctx), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    await expect(box.decrypt(raw.toString('base64'), ctx)).rejects.toBeInstanceOf(SecretError);
    const other = await LocalSecretBox.fromKeyFile(join(dir, 'other.key'));
    await expect(other.decrypt(await box.encrypt('pw', ctx), ctx)).rejects.toBeInstanceOf(SecretError);
    await expect(box.decrypt('AAAA', ctx)).rejects.toBeInstanceOf(SecretError);
  });

  it('serializes contexts canonically and unambiguously', () => {
    expect(canonicalContext({ b: '1', a: '2' }).equals(canonicalContext({ a: '2', b: '1' }))).toBe(true);
    // Naive "k=v,k=v" joining would make these equal.
    expect(canonicalContext({ a: '1,b=2' }).equals(canonicalContext({ a: '1', b: '2' }))).toBe(false);
  });
});
