// Per-second averages over the last stats period, for SHOW STATS / SHOW STATS_AVERAGES. PgBouncer
// samples its totals every `stats_period` (60 s) and reports the rate between the last two samples
// (PgBouncer usage docs, "SHOW STATS": avg_xact_count "average transactions per second in last
// stat period"); we do the same, so the numbers match what PgBouncer users expect.
import { emptyTotals, type TenantTotals } from './totals.ts';

export const STATS_PERIOD_MS = 60_000;

/** Mean of `amount` over `count` events, 0 when there were none (or the totals restarted). */
function mean(amount: number, count: number): number {
  return count > 0 && amount > 0 ? Math.round(amount / count) : 0;
}

export class StatsPeriod {
  private readonly read: () => Map<string, TenantTotals>;
  private readonly periodMs: number;
  private timer: NodeJS.Timeout | undefined;
  private last: { at: number; totals: Map<string, TenantTotals> } | undefined;
  private rates = new Map<string, TenantTotals>();

  constructor(read: () => Map<string, TenantTotals>, periodMs = STATS_PERIOD_MS) {
    this.read = read;
    this.periodMs = periodMs;
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample now (the timer does this every period; tests call it directly). */
  sample(now = Date.now()): void {
    const totals = this.read();
    const prev = this.last;
    this.last = { at: now, totals };
    if (prev === undefined) return;
    const seconds = Math.max((now - prev.at) / 1000, 0.001);
    const rates = new Map<string, TenantTotals>();
    for (const [id, t] of totals) {
      const p = prev.totals.get(id) ?? emptyTotals();
      // A tenant removed and re-added starts from zero: never report a negative rate.
      const rate = (a: number, b: number): number => Math.max(0, Math.round((a - b) / seconds));
      rates.set(id, {
        transactions: rate(t.transactions, p.transactions),
        queries: rate(t.queries, p.queries),
        bytesIn: rate(t.bytesIn, p.bytesIn),
        bytesOut: rate(t.bytesOut, p.bytesOut),
        waitUs: rate(t.waitUs, p.waitUs),
        // PgBouncer's avg_xact_time / avg_query_time: the mean duration over the period (µs per
        // transaction / query), not a rate (PgBouncer usage docs, "SHOW STATS").
        xactUs: mean(t.xactUs - p.xactUs, t.transactions - p.transactions),
        queryUs: mean(t.queryUs - p.queryUs, t.queries - p.queries),
      });
    }
    this.rates = rates;
  }

  /** Per-second rates per tenant over the last complete period (empty before two samples). */
  averages(): ReadonlyMap<string, TenantTotals> {
    return this.rates;
  }
}
