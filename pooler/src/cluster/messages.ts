// The IPC messages between the supervisor and its workers (child_process IPC, 'advanced'
// serialization so numbers such as +Inf histogram bounds survive). Nothing here is on the proxy's
// hot path: the messages are admin commands, metrics scrapes, reloads, cancels and lifecycle.
// A request that waits for its answer carries an `id`, and its answer the same one
// (pending-requests.ts correlates them).
import type { WorkerAnswer } from '../admin/fan-out.ts';
import type { Registry } from 'prom-client';
import type { EncryptionContext } from '../../../shared/src/ports/secret-box.ts';

export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** The supervisor's answer to a relayed decrypt (secret-relay.ts). */
export type DecryptResult =
  | { readonly ok: true; readonly plaintext: string }
  /** `secret`: the ciphertext does not open under this context (a per-tenant SecretError); otherwise an outage. */
  | { readonly ok: false; readonly secret: boolean; readonly message: string };

/** Supervisor → worker. */
export type ToWorker =
  /** Run a console command on this worker only and answer `ran`. */
  | { readonly t: 'run'; readonly id: number; readonly command: string }
  /** Re-read the configuration source (SourceController.reload) and answer `reloaded`. */
  | { readonly t: 'reload'; readonly id: number; readonly reason: string }
  /** Answer `metrics` with the registry's JSON. */
  | { readonly t: 'metrics'; readonly id: number }
  /** A CancelRequest relayed from another worker (or another machine through one); answer `cancelled` once delivered. */
  | { readonly t: 'cancel'; readonly id: number; readonly processId: number; readonly secretKey: number }
  /** Drain (as SIGTERM does) and exit. */
  | { readonly t: 'stop' }
  /** The answers to this worker's `fanout` or `reloadAll`. */
  | { readonly t: 'fanned'; readonly id: number; readonly answers: readonly WorkerAnswer[] }
  /** The answer to this worker's `decrypt` (secret-relay.ts). */
  | { readonly t: 'decrypted'; readonly id: number; readonly result: DecryptResult };

/** Worker → supervisor. */
export type FromWorker =
  /** Bound to the client port (the first worker tells the port a configured 0 resolved to). */
  | { readonly t: 'listening'; readonly port: number }
  /** Serving: listening, source controller started. */
  | { readonly t: 'ready' }
  /** Draining: not accepting any more. */
  | { readonly t: 'draining' }
  | { readonly t: 'ran'; readonly id: number; readonly answer: WorkerAnswer }
  /** This worker's reload: a RELOAD console reply, or the error that kept its configuration. */
  | { readonly t: 'reloaded'; readonly id: number; readonly answer: WorkerAnswer }
  | { readonly t: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  /** The relayed cancel went to the server (or there was nothing to cancel). */
  | { readonly t: 'cancelled'; readonly id: number }
  /** A console session on this worker asks for `command` to run on every worker (`scope`). */
  | { readonly t: 'fanout'; readonly id: number; readonly command: string; readonly scope: FanOutScope }
  /** The console's RELOAD: every worker reloads (as on the supervisor's SIGHUP); answered `fanned`. */
  | { readonly t: 'reloadAll'; readonly id: number; readonly reason: string }
  /** The console's SHUTDOWN: drain the whole machine. */
  | { readonly t: 'shutdown' }
  /** A destination password to decrypt with the machine's SecretBox (secret-relay.ts); answered `decrypted`. */
  | { readonly t: 'decrypt'; readonly id: number; readonly ciphertext: string; readonly context: EncryptionContext };

/** `all`: every worker that is serving or draining (SHOW); `serving`: not draining (actions). */
export type FanOutScope = 'all' | 'serving';

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

export function isToWorker(m: unknown): m is ToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
