// Transaction and query times per tenant (docs/metrics.md, "Latency"): fixed-bucket histograms
// the client connection feeds at the boundaries it already detects (frontend/client.ts: a server
// connection linked, a ReadyForQuery that leaves nothing outstanding), read at scrape time by
// stats/metrics.ts and by SHOW STATS. Not prom-client's Histogram: its observe() hashes a label
// set per call; here an observation is a short bucket scan and three additions on an object the
// client holds, so the hot path pays about one clock read (performance.now(), ~30 ns) per query.
// The statement shapes that took the time are kept beside (stats/statement-shapes.ts).
import { ShapeBudget, TenantShapes } from './statement-shapes.ts';

/** Upper bounds, seconds: OLTP from 0.1 ms to 10 s (then +Inf). Prometheus `le` values. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** The same bounds in milliseconds (the unit of performance.now()). */
const BOUNDS_MS = LATENCY_BUCKETS.map((s) => s * 1000);
const N_BOUNDS = BOUNDS_MS.length;

/** One histogram: per-bucket counts (not cumulative; the last one is +Inf), count and sum. */
export class LatencyHistogram {
  /** counts[i]: observations in (bound[i-1], bound[i]]; counts[N_BOUNDS]: above the last bound. */
  readonly counts = new Float64Array(N_BOUNDS + 1);
  count = 0;
  /** Sum of the observations, milliseconds. */
  sumMs = 0;

  observe(ms: number): void {
    if (!(ms >= 0)) ms = 0; // a clock step (never with performance.now(), which is monotonic) or NaN
    let i = 0;
    // Most OLTP observations fall in the first buckets: a linear scan beats a binary search here.
    while (i < N_BOUNDS && ms > BOUNDS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
  }

  /** Cumulative counts per bound, +Inf last (Prometheus' `_bucket` series). */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (let i = 0; i <= N_BOUNDS; i++) out.push((acc += this.counts[i]!));
    return out;
  }
}

/** One tenant's times. */
export class TenantLatency {
  /**
   * Transactions: from the first request of the transaction reaching a server connection (the
   * checkout wait excluded, as PgBouncer's xact_time) to the ReadyForQuery 'I' that ends it with
   * nothing outstanding.
   */
  readonly xact = new LatencyHistogram();
  /**
   * Queries: from a request sent while nothing was outstanding to the ReadyForQuery that leaves
   * nothing outstanding again. One simple Query, or one extended-protocol batch up to its Sync,
   * is one query; requests pipelined behind one another count as one (their replies overlap).
   */
  readonly query = new LatencyHistogram();
  /** The query time per normalized statement text (SHOW STATEMENTS). */
  readonly shapes: TenantShapes;

  constructor(budget: ShapeBudget = new ShapeBudget()) {
    this.shapes = new TenantShapes(budget);
  }
}

/**
 * Every tenant's times, kept while the process runs (a tenant removed and added again goes on
 * from its counts, so SHOW STATS totals never go backwards). Bounded by the number of tenant ids
 * the configuration ever held, as the traffic totals are (stats/totals.ts).
 */
export class LatencyBook {
  private readonly byTenant = new Map<string, TenantLatency>();
  /** The process-wide bounds of the statement shapes. */
  private readonly budget = new ShapeBudget();
  /** When counting started (ISO): the figures are since then (heartbeat statsSince). */
  readonly since = new Date().toISOString();

  forTenant(tenantId: string): TenantLatency {
    let t = this.byTenant.get(tenantId);
    if (t === undefined) this.byTenant.set(tenantId, (t = new TenantLatency(this.budget)));
    else t.shapes.reopen(); // a login to a tenant removed by a reload and added again
    return t;
  }

  /** The tenants not in `kept` were removed: their statement texts go (the times stay, as counters). */
  removedExcept(kept: ReadonlyMap<string, unknown>): void {
    for (const [id, t] of this.byTenant) if (!kept.has(id)) t.shapes.clear();
  }

  entries(): ReadonlyMap<string, TenantLatency> {
    return this.byTenant;
  }
}
