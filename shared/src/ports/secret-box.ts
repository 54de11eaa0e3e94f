// Encrypts destination and admin passwords. AWS: KMS Encrypt/Decrypt with EncryptionContext;
// local: AES-256-GCM with a key file, the context as associated data. The context is bound to
// the ciphertext: decrypting with any other context fails with SecretError. Contexts come from
// tenantSecretContext() / clusterAdminSecretContext() in domain/tenant.ts.
import type { EncryptionContext } from '../domain/tenant.ts';

export type { EncryptionContext };

export interface SecretBox {
  /** Returns a self-contained base64 string safe to store in a tenant/cluster row. */
  encrypt(plaintext: string, context: EncryptionContext): Promise<string>;
  /** SecretError when the ciphertext does not open under this context (or key). */
  decrypt(ciphertext: string, context: EncryptionContext): Promise<string>;
}
