// Destination passwords decrypted once per machine, not once per worker (docs/workers.md, "Config
// sources and heartbeats"). With `--source aws --workers N` every worker loads the same tenants at
// the same moment (start, a pushed reload fanned out to all of them); each asking KMS itself made
// N × tenants Decrypt calls per machine, and a fleet restart multiplies that again, against a
// per-account KMS request quota shared with everything else in the region. So a worker's
// SecretBox asks the supervisor over IPC, and the supervisor makes one KMS call per distinct
// (ciphertext, context), shared by every worker that asks within a short window.
//
// What crosses the IPC pipe: ciphertexts and contexts one way, plaintext passwords the other —
// between processes of the same user on one machine, the same trust boundary as the worker's
// own memory. Nothing is logged. Each worker keeps its own PasswordCache as before; the
// supervisor keeps a decrypted password only for SHARE_MS after the call, long enough for the
// other workers' loads of the same wave, short enough that a rotated password does not linger.
import { SecretError } from '../../../shared/src/domain/errors.ts';
import type { EncryptionContext, SecretBox } from '../../../shared/src/ports/secret-box.ts';
import type { DecryptResult, FromWorker, ToWorker } from './messages.ts';
import { PendingRequests, RequestFailed } from './pending-requests.ts';

/** How long the supervisor shares one KMS answer between workers. */
const SHARE_MS = 60_000;
/** A worker's wait for the supervisor's answer before its load fails (and is retried later). */
const ANSWER_TIMEOUT_MS = 30_000;
/** Decrypts one worker has outstanding at once (a load runs 16: password-cache.ts). */
const MAX_OUTSTANDING = 1024;

function keyOf(ciphertext: string, context: EncryptionContext): string {
  // Sorted, so equal contexts built in a different key order share one call.
  const ctx = Object.keys(context)
    .sort()
    .map((k) => `${k}\u0000${context[k]}`)
    .join('\u0000');
  return `${ctx}\u0001${ciphertext}`;
}

/** The supervisor's side: one SecretBox call per distinct request, shared by the workers. */
export class SharedDecrypts {
  readonly #box: SecretBox;
  readonly #shareMs: number;
  readonly #entries = new Map<string, Promise<DecryptResult>>();
  /** Calls made to the SecretBox (tests, logs). */
  calls = 0;

  constructor(box: SecretBox, shareMs = SHARE_MS) {
    this.#box = box;
    this.#shareMs = shareMs;
  }

  decrypt(ciphertext: string, context: EncryptionContext): Promise<DecryptResult> {
    const key = keyOf(ciphertext, context);
    const shared = this.#entries.get(key);
    if (shared !== undefined) return shared;
    this.calls++;
    const result = this.#box.decrypt(ciphertext, context).then(
      (plaintext): DecryptResult => {
        // unref: a pending expiry never holds the supervisor up at exit.
        setTimeout(() => this.#forget(key, result), this.#shareMs).unref();
        return { ok: true, plaintext };
      },
      (err: unknown): DecryptResult => {
        // A failure is shared only with the requests already waiting: the next load asks again.
        this.#forget(key, result);
        return { ok: false, secret: err instanceof SecretError, message: (err as Error).message };
      },
    );
    this.#entries.set(key, result);
    return result;
  }

  #forget(key: string, result: Promise<DecryptResult>): void {
    if (this.#entries.get(key) === result) this.#entries.delete(key);
  }

  /** Forgets every shared answer (on stop). */
  clear(): void {
    this.#entries.clear();
  }
}

/**
 * A worker's SecretBox: asks the supervisor. The IPC listener is attached only while a request is
 * outstanding, so an idle box never keeps the worker's channel (or process) alive.
 */
export class RelayedSecretBox implements SecretBox {
  readonly #send: (m: FromWorker) => boolean;
  readonly #timeoutMs: number;
  readonly #pending = new PendingRequests<DecryptResult>(MAX_OUTSTANDING);
  #listening = false;

  constructor(send: (m: FromWorker) => boolean, timeoutMs = ANSWER_TIMEOUT_MS) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  encrypt(): Promise<string> {
    return Promise.reject(new Error('a pooler worker does not encrypt secrets'));
  }

  async decrypt(ciphertext: string, context: EncryptionContext): Promise<string> {
    const r = await this.#ask(ciphertext, context);
    if (r.ok) return r.plaintext;
    throw r.secret ? new SecretError(r.message) : new Error(`decrypt through the supervisor failed: ${r.message}`);
  }

  #ask(ciphertext: string, context: EncryptionContext): Promise<DecryptResult> {
    this.#listen();
    return this.#pending
      .ask((id) => this.#send({ t: 'decrypt', id, ciphertext, context: { ...context } }), this.#timeoutMs)
      .catch((err: unknown): DecryptResult => {
        const reason = err instanceof RequestFailed ? err.reason : 'gone';
        return { ok: false, secret: false, message: reason === 'gone' ? 'the supervisor is gone' : (err as Error).message };
      })
      .finally(() => {
        if (this.#pending.size === 0) this.#unlisten();
      });
  }

  /** Delivers an answer (also the entry point for tests). */
  answered(m: Extract<ToWorker, { t: 'decrypted' }>): void {
    this.#pending.answer(m.id, m.result);
  }

  readonly #onMessage = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'decrypted') this.answered(m as Extract<ToWorker, { t: 'decrypted' }>);
  };

  readonly #onDisconnect = (): void => this.#pending.failAll();

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    process.on('message', this.#onMessage);
    process.on('disconnect', this.#onDisconnect);
  }

  #unlisten(): void {
    if (!this.#listening) return;
    this.#listening = false;
    process.removeListener('message', this.#onMessage);
    process.removeListener('disconnect', this.#onDisconnect);
  }
}
