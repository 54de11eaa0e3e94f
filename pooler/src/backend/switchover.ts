// A pool's part in a planned switchover (docs/deploy.md "Planned switchover"). While the tenant's
// cluster is marked switching (pool setting `switchover_until`, set by the local/AWS sources from
// the published targets), the pool holds like an admin PAUSE (backend/pool.ts): new checkouts
// queue, idle server connections close, busy ones close when their transaction ends, nothing new
// opens to the old writer. Unlike PAUSE, queued clients are not failed by checkout_timeout while
// it lasts — the hold has its own bound, `switchover_until` — and their checkout_timeout starts
// again when it ends. It ends when a reload clears the mark (the new writer is confirmed: the
// reload that clears it carries the new target, so queued clients go there), or at the deadline,
// when queued clients go on with whatever the targets say and the timeout is reported.
import type { Logger } from '../log.ts';

export type SwitchoverOutcome = 'confirmed' | 'timeout';

/** Told once per hold when it ends: the metrics (stats/metrics.ts). */
export type SwitchoverObserver = (tenantId: string, seconds: number, outcome: SwitchoverOutcome) => void;

export class SwitchHold {
  readonly #startedAt = performance.now();
  #deadline: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #onDeadline: () => void;

  constructor(deadline: number, onDeadline: () => void) {
    this.#deadline = deadline;
    this.#onDeadline = onDeadline;
    this.#arm();
  }

  get deadline(): number {
    return this.#deadline;
  }

  /** A reload may move the deadline (a later event, a changed switchover_timeout). */
  setDeadline(deadline: number): void {
    if (deadline === this.#deadline) return;
    this.#deadline = deadline;
    this.#arm();
  }

  /** Seconds since the hold began. */
  elapsedSeconds(): number {
    return (performance.now() - this.#startedAt) / 1000;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    // Bounded by the schema (switchover_timeout ≤ MAX_SWITCHOVER_SECONDS), well within a timer's range.
    this.#timer = setTimeout(this.#onDeadline, Math.max(0, this.#deadline - Date.now()));
    this.#timer.unref();
  }
}

/** The hold `until` (pool setting switchover_until) asks for now: its deadline, or undefined for none. */
export function holdDeadline(until: string | undefined, now = Date.now()): number | undefined {
  if (until === undefined) return undefined;
  const t = Date.parse(until);
  return Number.isNaN(t) || t <= now ? undefined : t;
}

export function logHoldEnd(log: Logger, outcome: SwitchoverOutcome, seconds: number, queued: number): void {
  const fields = { pauseMs: Math.round(seconds * 1000), queued };
  if (outcome === 'timeout') log.warn(fields, 'planned switchover: no new writer confirmed within switchover_timeout; queued clients go on with the current target');
  else log.info(fields, 'planned switchover over: queued clients go on with the new target');
}
