// The keys the pooler derives to log in to PostgreSQL servers with SCRAM-SHA-256 (scram-client.ts):
// SaltedPassword = Hi(password, salt, i), PBKDF2-HMAC-SHA-256 (RFC 5802 §3), whose cost the server
// chooses through its stored verifier's iteration count. A tenant that controls its role's verifier
// controls that cost, so:
// - it is computed off the event loop (crypto.pbkdf2 runs in libuv's thread pool), at most
//   CONCURRENCY at a time, so other work of the pool (DNS look-ups, file reads) keeps threads;
// - derivations waiting for a thread are served per owner (the destination that chose the cost)
//   in turn, not first come first served: a tenant whose server asks for a new salt at every
//   login and whose pool opens many connections at once delays another tenant's login by one
//   derivation, not by all of its own;
// - counts above `maxIterations` (config limits.max_server_scram_iterations) are refused before any
//   work, with an error naming the limit (PostgreSQL's default is 4096);
// - the keys are cached per (password, salt, iterations) in a bounded LRU: a server's salt and
//   count are fixed by its stored verifier, so a new connection to it costs no PBKDF2. The cache is
//   keyed by a SHA-256 of the three, and holds only the derived keys (the pooler holds the
//   destination password anyway); concurrent logins that need the same keys share one computation.
import { createHash, pbkdf2 } from 'node:crypto';
import { normalizePassword, SCRAM_KEY_LENGTH, scramKeys, type ScramKeys } from '../../../shared/src/auth/scram-crypto.ts';

export const DEFAULT_MAX_SERVER_SCRAM_ITERATIONS = 100_000;
/** About 0.4 KiB per entry: 4 MiB at most, and room for a key per tenant of a large fleet. */
export const DEFAULT_KEY_CACHE_ENTRIES = 10_000;
/** PBKDF2 computations running at once: half of libuv's default thread pool of 4. */
export const DEFAULT_CONCURRENCY = 2;

export class ScramIterationsError extends Error {
  readonly code = 'SCRAM_ITERATIONS_TOO_HIGH';
  readonly iterations: number;
  readonly limit: number;
  constructor(iterations: number, limit: number) {
    super(`the server asks for ${iterations} SCRAM iterations; the pooler allows at most ${limit} (limits.max_server_scram_iterations)`);
    this.name = 'ScramIterationsError';
    this.iterations = iterations;
    this.limit = limit;
  }
}

export interface ScramKeyCacheOptions {
  maxIterations?: number;
  maxEntries?: number;
  concurrency?: number;
}

export class ScramKeyCache {
  /** Largest iteration count computed; set from the config on start and reload. */
  maxIterations: number;
  private readonly maxEntries: number;
  private readonly concurrency: number;
  /** Least recently used first. */
  private readonly entries = new Map<string, ScramKeys>();
  private readonly computing = new Map<string, Promise<ScramKeys>>();
  private running = 0;
  /** Per owner, derivations waiting for a thread; the Map's order is the round-robin order. */
  private readonly queues = new Map<string, (() => void)[]>();
  private waiting = 0;
  /** Counters (metrics, tests). */
  hits = 0;
  misses = 0;
  refused = 0;

  constructor(opts: ScramKeyCacheOptions = {}) {
    this.maxIterations = opts.maxIterations ?? DEFAULT_MAX_SERVER_SCRAM_ITERATIONS;
    this.maxEntries = opts.maxEntries ?? DEFAULT_KEY_CACHE_ENTRIES;
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Derivations waiting for a thread. */
  get queued(): number {
    return this.waiting;
  }

  /** Throws ScramIterationsError above maxIterations (checked before anything is computed). */
  checkIterations(iterations: number): void {
    if (iterations > this.maxIterations) {
      this.refused++;
      throw new ScramIterationsError(iterations, this.maxIterations);
    }
  }

  /**
   * The keys for `password` under the server's salt and iteration count. `owner` names who chose
   * the cost (backend/connect.ts: the destination), for taking turns while waiting for a thread.
   */
  derive(password: string, salt: Buffer, iterations: number, owner = ''): Promise<ScramKeys> {
    try {
      this.checkIterations(iterations);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = createHash('sha256').update(password, 'utf8').update('\0').update(salt).update(`\0${iterations}`).digest('base64');
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      this.hits++;
      this.entries.delete(id);
      this.entries.set(id, hit);
      return Promise.resolve(hit);
    }
    let p = this.computing.get(id);
    if (p === undefined) {
      this.misses++;
      p = this.compute(id, password, salt, iterations, owner).finally(() => this.computing.delete(id));
      this.computing.set(id, p);
    }
    return p;
  }

  private async compute(id: string, password: string, salt: Buffer, iterations: number, owner: string): Promise<ScramKeys> {
    await this.acquire(owner);
    let salted: Buffer;
    try {
      salted = await new Promise<Buffer>((resolve, reject) =>
        pbkdf2(normalizePassword(password), salt, iterations, SCRAM_KEY_LENGTH, 'sha256', (err, key) => (err ? reject(err) : resolve(key))),
      );
    } finally {
      this.release();
    }
    const keys = scramKeys(salted);
    this.entries.set(id, keys);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return keys;
  }

  private acquire(owner: string): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    this.waiting++;
    return new Promise((resolve) => {
      const q = this.queues.get(owner);
      if (q === undefined) this.queues.set(owner, [resolve]);
      else q.push(resolve);
    });
  }

  /** Hands the thread to the next owner in turn (then to the back of the line), or frees it. */
  private release(): void {
    const first = this.queues.entries().next();
    if (first.done === true) {
      this.running--;
      return;
    }
    const [owner, q] = first.value;
    const next = q.shift()!;
    this.queues.delete(owner);
    if (q.length > 0) this.queues.set(owner, q);
    this.waiting--;
    next();
  }
}

/** The process's cache, used by every server login (backend/connect.ts); pooler.ts sets its limit. */
export const serverScramKeys = new ScramKeyCache();
