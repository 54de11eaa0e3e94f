// Local SecretBox: AES-256-GCM (NIST SP 800-38D) with a 32-byte key kept in a file only the owner
// can read. The encryption context is bound as additional authenticated data, serialized
// canonically (canonicalContext) so the same context always gives the same bytes.
//
// Ciphertext: base64( version 0x01 | iv (12 bytes, random per message, SP 800-38D §8.2.2) |
//                     tag (16 bytes) | data ).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { SecretError } from '../domain/errors.ts';
import type { EncryptionContext, SecretBox } from '../ports/secret-box.ts';

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/**
 * The AAD for a context: JSON array of [key, value] pairs sorted by key. Independent of property
 * insertion order, unambiguous for any strings (JSON escaping), and the same rule KMS applies
 * (context order does not matter there either).
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  const pairs = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify(pairs), 'utf8');
}

export class KeyFileError extends Error {
  readonly code = 'KEY_FILE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/** Reads the key file, creating it (mode 0600, O_EXCL so two processes never race) if missing. */
export async function loadOrCreateKey(keyFile: string): Promise<Buffer> {
  try {
    const fh = await open(keyFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const key = randomBytes(KEY_BYTES);
    try {
      await fh.writeFile(key.toString('base64') + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await stat(keyFile);
  if ((st.mode & 0o077) !== 0) {
    throw new KeyFileError(`key file ${keyFile} is accessible by group/others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const key = Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new KeyFileError(`key file ${keyFile} does not hold a ${KEY_BYTES}-byte base64 key`);
  return key;
}

export class LocalSecretBox implements SecretBox {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new KeyFileError(`AES-256-GCM needs a ${KEY_BYTES}-byte key`);
    this.#key = key;
  }

  static async fromKeyFile(keyFile: string): Promise<LocalSecretBox> {
    return new LocalSecretBox(await loadOrCreateKey(keyFile));
  }

  async encrypt(plaintext: string, context: EncryptionContext): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(canonicalContext(context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), data]).toString('base64');
  }

  async decrypt(ciphertext: string, context: EncryptionContext): Promise<string> {
    const raw = Buffer.from(ciphertext, 'base64');
    if (raw.length < 1 + IV_BYTES + TAG_BYTES || raw[0] !== FORMAT_VERSION) throw new SecretError();
    const iv = raw.subarray(1, 1 + IV_BYTES);
    const tag = raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const data = raw.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(canonicalContext(context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretError();
    }
  }
}
