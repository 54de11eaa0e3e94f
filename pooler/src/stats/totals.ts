// Per-tenant traffic totals for SHOW STATS and /metrics, computed when asked (a scrape, an admin
// query) rather than on the hot path: each ClientConnection keeps its own counters, and when a
// client goes its counters are folded into `gone` so totals never move backwards (Prometheus
// counter semantics; PgBouncer's total_* columns behave the same). Query counts and the
// transaction and query times come from the tenants' latency histograms (stats/latency.ts).
import type { TenantLatency } from './latency.ts';

/** What a client connection exposes for accounting (frontend/client.ts keeps these counters). */
export interface CountedClient {
  readonly route: { readonly id: string } | null;
  readonly transactions: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** What a pool exposes for accounting (backend/pool.ts). */
export interface CountedPool {
  readonly tenantId: string;
  /** Sum of the time queued clients waited for a server connection, microseconds. */
  readonly totalWaitUs: number;
}

export interface TenantTotals {
  /** Transactions that ended (ReadyForQuery 'I' with nothing outstanding). */
  transactions: number;
  /**
   * Queries: requests (or pipelined batches of them) answered up to the ReadyForQuery that left
   * nothing outstanding (stats/latency.ts, TenantLatency.query).
   */
  queries: number;
  /** Bytes received from clients. */
  bytesIn: number;
  /** Bytes sent to clients. */
  bytesOut: number;
  /** Time clients spent queued for a server connection, microseconds. */
  waitUs: number;
  /** Time spent in transactions, microseconds (TenantLatency.xact). */
  xactUs: number;
  /** Time spent in queries, microseconds (TenantLatency.query). */
  queryUs: number;
}

export function emptyTotals(): TenantTotals {
  return { transactions: 0, queries: 0, bytesIn: 0, bytesOut: 0, waitUs: 0, xactUs: 0, queryUs: 0 };
}

export class TotalsBook {
  private readonly gone = new Map<string, TenantTotals>();
  /** Wait time of pools that were closed (tenant removed), so it does not vanish from totals. */
  private readonly goneWait = new Map<string, number>();

  /** Folds a departing client's counters into its tenant's totals. */
  clientGone(c: CountedClient): void {
    const id = c.route?.id;
    if (id === undefined) return;
    let t = this.gone.get(id);
    if (t === undefined) this.gone.set(id, (t = emptyTotals()));
    t.transactions += c.transactions;
    t.bytesIn += c.bytesIn;
    t.bytesOut += c.bytesOut;
  }

  /** Keeps a closed pool's wait total. */
  poolGone(p: CountedPool): void {
    this.goneWait.set(p.tenantId, (this.goneWait.get(p.tenantId) ?? 0) + p.totalWaitUs);
  }

  /** Totals per tenant id: departed clients + live clients + pools + the latency histograms. */
  collect(clients: Iterable<CountedClient>, pools: Iterable<CountedPool>, latency: ReadonlyMap<string, TenantLatency> = new Map()): Map<string, TenantTotals> {
    const out = new Map<string, TenantTotals>();
    const get = (id: string): TenantTotals => {
      let t = out.get(id);
      if (t === undefined) out.set(id, (t = emptyTotals()));
      return t;
    };
    for (const [id, g] of this.gone) {
      const t = get(id);
      t.transactions += g.transactions;
      t.bytesIn += g.bytesIn;
      t.bytesOut += g.bytesOut;
    }
    for (const [id, w] of this.goneWait) get(id).waitUs += w;
    for (const c of clients) {
      const id = c.route?.id;
      if (id === undefined) continue;
      const t = get(id);
      t.transactions += c.transactions;
      t.bytesIn += c.bytesIn;
      t.bytesOut += c.bytesOut;
    }
    for (const p of pools) get(p.tenantId).waitUs += p.totalWaitUs;
    for (const [id, l] of latency) {
      if (l.query.count === 0 && l.xact.count === 0) continue;
      const t = get(id);
      t.queries = l.query.count;
      t.queryUs = l.query.sumMs * 1000;
      t.xactUs = l.xact.sumMs * 1000;
    }
    return out;
  }
}
