// Request/answer correlation over the supervisor–worker IPC channel (messages.ts): a request
// carries an id and its answer the same id. One implementation for every request that waits for
// an answer: the supervisor's to a worker (console commands, metrics, cancels, reloads), a worker's
// to the supervisor (console fan-outs and reloads) and a worker's relayed decrypts (secret-relay.ts).
//
// Bounded like everything else (docs/architecture.md, "Invariants"): at most `max` requests
// outstanding — the next fails at once as `busy` instead of growing a map nobody drains — and
// each waits at most its timeout. When the other side is gone, every request fails as `gone`.
// A late answer (after its timeout) finds nothing and is dropped.

export type RequestFailure = 'timeout' | 'gone' | 'busy';

export class RequestFailed extends Error {
  readonly reason: RequestFailure;
  constructor(reason: RequestFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface Waiting<A> {
  readonly resolve: (a: A) => void;
  readonly reject: (e: RequestFailed) => void;
  timer: NodeJS.Timeout | undefined;
}

export class PendingRequests<A> {
  readonly #max: number;
  readonly #waiting = new Map<number, Waiting<A>>();
  #next = 1;

  constructor(max: number) {
    this.#max = max;
  }

  /** Requests waiting for their answer. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Sends a request (`send(id)`; false when the channel is gone) and resolves with its answer.
   * Rejects with RequestFailed: `busy` (too many outstanding), `timeout`, `gone`. Without a
   * timeout the request waits for its answer or the end of the channel (failAll): for requests
   * that legitimately wait long, such as a PAUSE waiting for transactions to end.
   */
  ask(send: (id: number) => boolean, timeoutMs: number | undefined): Promise<A> {
    if (this.#waiting.size >= this.#max) return Promise.reject(new RequestFailed('busy', `${this.#max} requests are already waiting for an answer`));
    const id = this.#next++;
    return new Promise<A>((resolve, reject) => {
      const w: Waiting<A> = { resolve, reject, timer: undefined };
      this.#waiting.set(id, w);
      if (timeoutMs !== undefined) w.timer = setTimeout(() => this.#fail(id, new RequestFailed('timeout', `no answer within ${timeoutMs} ms`)), timeoutMs);
      let sent = false;
      try {
        sent = send(id);
      } catch {
        // a closed channel throws on some paths: the same as false
      }
      if (!sent) this.#fail(id, new RequestFailed('gone', 'the other side is gone'));
    });
  }

  /** Delivers the answer to request `id`; false when nothing waits for it (late, or never asked). */
  answer(id: number, a: A): boolean {
    const w = this.#take(id);
    w?.resolve(a);
    return w !== undefined;
  }

  /** The channel closed: nothing outstanding will be answered. */
  failAll(): void {
    for (const id of [...this.#waiting.keys()]) this.#fail(id, new RequestFailed('gone', 'the other side is gone'));
  }

  #fail(id: number, e: RequestFailed): void {
    this.#take(id)?.reject(e);
  }

  #take(id: number): Waiting<A> | undefined {
    const w = this.#waiting.get(id);
    if (w === undefined) return undefined;
    this.#waiting.delete(id);
    clearTimeout(w.timer);
    return w;
  }
}
