// GET /tenants/{id}/pool-stats (local stack only): one tenant's live pool figures, read from the
// pooler's Prometheus endpoint (docs/metrics.md) at the moment of the request. The console polls it
// every few seconds and draws rates and percentiles from the difference of two samples, so the
// server keeps no state: counters and histogram buckets are returned as the pooler reports them.
//
// The deployed control API has no route to the poolers' metrics ports (they listen on each
// instance's loopback); there the console shows the heartbeat figures of GET /tenants/{id}/metrics.

/** One tenant's figures as exposed by the pooler (text format 0.0.4). */
export interface PoolStats {
  tenantId: string;
  /** When the pooler was scraped. */
  at: string;
  clients: { active: number; waiting: number };
  servers: { active: number; idle: number; connecting: number };
  /** Configured pool.size (absent until the tenant's pool exists). */
  poolSize?: number;
  maxWaitSeconds: number;
  /** Counters since the pool was created (they restart when the tenant is removed and re-added). */
  transactionsTotal: number;
  checkoutsTotal: number;
  checkoutTimeoutsTotal: number;
  /** switchyard_pool_checkout_wait_seconds: queued checkouts only (immediate ones are checkoutsTotal − count). */
  checkoutWait: { buckets: { le: number; count: number }[]; count: number; sum: number };
}

const LINE = /^([a-z_:][a-z0-9_:]*)\{([^}]*)\} (\S+)/;
const LABEL = /([a-z_]+)="((?:[^"\\]|\\.)*)"/g;

/** The figures of `tenantId` from an exposition; `undefined` when the pooler does not know it. */
export function poolStatsFrom(text: string, tenantId: string, at: Date): PoolStats | undefined {
  const s: PoolStats = {
    tenantId,
    at: at.toISOString(),
    clients: { active: 0, waiting: 0 },
    servers: { active: 0, idle: 0, connecting: 0 },
    maxWaitSeconds: 0,
    transactionsTotal: 0,
    checkoutsTotal: 0,
    checkoutTimeoutsTotal: 0,
    checkoutWait: { buckets: [], count: 0, sum: 0 },
  };
  // Tenant ids are slugs, so the label appears verbatim (no escaping to undo).
  const needle = `tenant="${tenantId}"`;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.includes(needle)) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    if (labels.tenant !== tenantId) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v) && m[3] !== '+Inf') continue;
    seen = true;
    switch (m[1]) {
      case 'switchyard_pool_clients':
        if (labels.state === 'active' || labels.state === 'waiting') s.clients[labels.state] = v;
        break;
      case 'switchyard_pool_servers':
        if (labels.state === 'active' || labels.state === 'idle' || labels.state === 'connecting') s.servers[labels.state] = v;
        break;
      case 'switchyard_pool_size':
        s.poolSize = v;
        break;
      case 'switchyard_pool_max_wait_seconds':
        s.maxWaitSeconds = v;
        break;
      case 'switchyard_transactions_total':
        s.transactionsTotal = v;
        break;
      case 'switchyard_pool_checkouts_total':
        s.checkoutsTotal = v;
        break;
      case 'switchyard_pool_checkout_timeouts_total':
        s.checkoutTimeoutsTotal = v;
        break;
      case 'switchyard_pool_checkout_wait_seconds_bucket':
        s.checkoutWait.buckets.push({ le: labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le), count: v });
        break;
      case 'switchyard_pool_checkout_wait_seconds_count':
        s.checkoutWait.count = v;
        break;
      case 'switchyard_pool_checkout_wait_seconds_sum':
        s.checkoutWait.sum = v;
        break;
    }
  }
  // JSON has no Infinity: the +Inf bucket is the count anyway.
  s.checkoutWait.buckets = s.checkoutWait.buckets.filter((b) => Number.isFinite(b.le)).sort((a, b) => a.le - b.le);
  return seen ? s : undefined;
}

/** Bounded: the console polls, a stuck pooler must not pile requests up. */
export const SCRAPE_TIMEOUT_MS = 3_000;

export async function scrapePoolStats(metricsUrl: string, tenantId: string): Promise<PoolStats | undefined> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`the pooler's metrics endpoint answered HTTP ${res.status}`);
  return poolStatsFrom(await res.text(), tenantId, new Date());
}
