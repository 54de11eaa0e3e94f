// Destination passwords, decrypted with the SecretBox (KMS on AWS, AES-GCM locally) and kept in
// this process's memory only: never on disk, never logged. Cached by ciphertext so a reload of
// 10,000 unchanged tenants costs no KMS calls; the key also carries the encryption context
// (tenantId, clusterId), so a ciphertext copied to another tenant is still decrypted — and
// refused by KMS — under that tenant's own context rather than served from the cache.
// Entries unused by the last complete load are dropped, so a rotated password does not linger.
import { SecretError } from '../../../../shared/src/domain/errors.ts';
import { tenantSecretContext, type Tenant } from '../../../../shared/src/domain/tenant.ts';
import type { SecretBox } from '../../../../shared/src/ports/secret-box.ts';

function cacheKey(t: Tenant): string {
  const ctx = tenantSecretContext(t.tenantId, t.destination);
  return `${ctx.tenantId}\u0000${ctx.clusterId}\u0000${t.destination.passwordCiphertext}`;
}

export class PasswordCache {
  readonly #secrets: SecretBox;
  readonly #concurrency: number;
  #entries = new Map<string, string>();
  /** KMS/SecretBox calls made so far (tests and logs). */
  decrypts = 0;

  constructor(secrets: SecretBox, concurrency = 16) {
    this.#secrets = secrets;
    this.#concurrency = concurrency;
  }

  /**
   * The password of each tenant, or the SecretError its ciphertext gave (a per-tenant problem).
   * Any other error (the SecretBox unreachable, throttled, denied) rejects the whole call.
   */
  async resolve(tenants: readonly Tenant[]): Promise<Map<string, string | SecretError>> {
    const out = new Map<string, string | SecretError>();
    const misses: Tenant[] = [];
    for (const t of tenants) {
      const hit = this.#entries.get(cacheKey(t));
      if (hit !== undefined) out.set(t.tenantId, hit);
      else misses.push(t);
    }
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < misses.length && !failed) {
        const t = misses[next++]!;
        try {
          this.decrypts++;
          const pw = await this.#secrets.decrypt(t.destination.passwordCiphertext, tenantSecretContext(t.tenantId, t.destination));
          this.#entries.set(cacheKey(t), pw);
          out.set(t.tenantId, pw);
        } catch (err) {
          if (!(err instanceof SecretError)) {
            failed = true;
            throw err;
          }
          out.set(t.tenantId, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, misses.length) }, worker));
    // A complete pass: keep only what this load used.
    const used = new Set(tenants.map(cacheKey));
    for (const k of this.#entries.keys()) if (!used.has(k)) this.#entries.delete(k);
    return out;
  }

  get size(): number {
    return this.#entries.size;
  }
}
