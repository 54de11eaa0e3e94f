// SecretBox on AWS KMS. The encryption context is passed to Encrypt and must be passed unchanged
// to Decrypt (AWS KMS Developer Guide, "Encryption context": it is authenticated additional data,
// logged in CloudTrail, and can be required in key-policy conditions such as
// kms:EncryptionContext:tenantId). Ciphertexts are the CiphertextBlob in base64.
import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { SecretError } from '../domain/errors.ts';
import type { EncryptionContext, SecretBox } from '../ports/secret-box.ts';

/** KMS errors meaning "this ciphertext does not open here", as opposed to outages or permissions. */
const UNOPENABLE = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

export class KmsSecretBox implements SecretBox {
  readonly #kms: KMSClient;
  readonly #keyId: string;
  constructor(kms: KMSClient, keyId: string) {
    this.#kms = kms;
    this.#keyId = keyId;
  }

  async encrypt(plaintext: string, context: EncryptionContext): Promise<string> {
    const res = await this.#kms.send(
      new EncryptCommand({ KeyId: this.#keyId, Plaintext: Buffer.from(plaintext, 'utf8'), EncryptionContext: { ...context } }),
    );
    if (!res.CiphertextBlob) throw new Error('KMS Encrypt returned no CiphertextBlob');
    return Buffer.from(res.CiphertextBlob).toString('base64');
  }

  async decrypt(ciphertext: string, context: EncryptionContext): Promise<string> {
    const blob = Buffer.from(ciphertext, 'base64');
    if (blob.length === 0) throw new SecretError();
    try {
      // KeyId pins the key: a ciphertext made under some other key we can use is refused.
      const res = await this.#kms.send(new DecryptCommand({ KeyId: this.#keyId, CiphertextBlob: blob, EncryptionContext: { ...context } }));
      if (!res.Plaintext) throw new SecretError();
      return Buffer.from(res.Plaintext).toString('utf8');
    } catch (err) {
      if (err instanceof SecretError) throw err;
      if (err instanceof Error && UNOPENABLE.has(err.name)) throw new SecretError();
      throw err;
    }
  }
}
