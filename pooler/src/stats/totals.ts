// Per-tenant traffic totals for SHOW STATS and /metrics, computed when asked (a scrape, an admin
// query) rather than on the hot path: each ClientConnection keeps its own counters, and when a
// client goes its counters are folded into `gone` so totals never move backwards (Prometheus
// counter semantics; PgBouncer's total_* columns behave the same).

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
   * Queries. The client counts transactions only (until it counts each ReadyForQuery), so this is
   * a lower bound equal to `transactions` unless the client exposes a `queries` counter.
   */
  queries: number;
  /** Bytes received from clients. */
  bytesIn: number;
  /** Bytes sent to clients. */
  bytesOut: number;
  /** Time clients spent queued for a server connection, microseconds. */
  waitUs: number;
}

export function emptyTotals(): TenantTotals {
  return { transactions: 0, queries: 0, bytesIn: 0, bytesOut: 0, waitUs: 0 };
}

function queriesOf(c: CountedClient): number {
  // A `queries` counter on the client is used when present (see TenantTotals.queries).
  return 'queries' in c && typeof c.queries === 'number' ? c.queries : c.transactions;
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
    t.queries += queriesOf(c);
    t.bytesIn += c.bytesIn;
    t.bytesOut += c.bytesOut;
  }

  /** Keeps a closed pool's wait total. */
  poolGone(p: CountedPool): void {
    this.goneWait.set(p.tenantId, (this.goneWait.get(p.tenantId) ?? 0) + p.totalWaitUs);
  }

  /** Totals per tenant id: departed clients + live clients + pools. */
  collect(clients: Iterable<CountedClient>, pools: Iterable<CountedPool>): Map<string, TenantTotals> {
    const out = new Map<string, TenantTotals>();
    const get = (id: string): TenantTotals => {
      let t = out.get(id);
      if (t === undefined) out.set(id, (t = emptyTotals()));
      return t;
    };
    for (const [id, g] of this.gone) {
      const t = get(id);
      t.transactions += g.transactions;
      t.queries += g.queries;
      t.bytesIn += g.bytesIn;
      t.bytesOut += g.bytesOut;
    }
    for (const [id, w] of this.goneWait) get(id).waitUs += w;
    for (const c of clients) {
      const id = c.route?.id;
      if (id === undefined) continue;
      const t = get(id);
      t.transactions += c.transactions;
      t.queries += queriesOf(c);
      t.bytesIn += c.bytesIn;
      t.bytesOut += c.bytesOut;
    }
    for (const p of pools) get(p.tenantId).waitUs += p.totalWaitUs;
    return out;
  }
}
