// Prometheus metrics of one pooler (docs/metrics.md). A private registry (never prom-client's
// global one, so several poolers in one process — the tests — do not collide). Gauges and
// counters are computed in collect() callbacks at scrape time from the pools, the clients'
// own counters and the disconnect tally, so the proxy's hot path does no metrics work at all;
// the one observation made outside a scrape is the checkout-wait histogram, on the slow path
// where a queued client finally gets a server connection (backend/pool.ts).
// With `--workers N` the supervisor merges the workers' registries (cluster/machine-metrics.ts):
// amounts are summed (prom-client's default `aggregator`); the metrics that are not amounts say
// how they merge (`aggregator: 'max'`). A single process ignores `aggregator`.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../backend/pool.ts';
import { LATENCY_BUCKETS, type LatencyHistogram, type TenantLatency } from './latency.ts';
import type { TenantTotals } from './totals.ts';
import { registerReaderMetrics, type ReaderMetricsSource } from './reader-metrics.ts';
import { registerListenMetrics, type ListenStats } from './listen-metrics.ts';
import { tenantSeries } from './tenant-series.ts';

/** What the metrics read from the pooler (implemented by Pooler). */
export interface MetricsSource {
  readonly configVersion: number;
  /** The control plane's published config version applied last (local/aws sources), if any. */
  readonly appliedConfigVersion: number | undefined;
  readonly draining: boolean;
  readonly reloadCount: number;
  /** Tenant ids of the current routing snapshot. */
  tenantIds(): Iterable<string>;
  poolStats(): PoolStats[];
  /** Logged-in clients per tenant id. */
  clientsPerTenant(): ReadonlyMap<string, number>;
  tenantTotals(): Map<string, TenantTotals>;
  /** Client disconnects by reason since start. */
  disconnectCounts(): ReadonlyMap<string, number>;
  isPaused(tenantId: string): boolean;
  /** How many tenants of the configuration in use are not served (invalid, or in conflict). */
  skippedTenantCount?(): number;
  /** Client connections refused at accept, by limit (max_client_conn, max_unauthenticated_per_address). */
  refusedConnections?(): ReadonlyMap<string, number>;
  /** Transaction and query time histograms per tenant id (stats/latency.ts). */
  tenantLatency?(): ReadonlyMap<string, TenantLatency>;
  /** Read endpoints: reader lag and routing (stats/reader-metrics.ts). */
  readerMetrics?: ReaderMetricsSource;
  /** Pinned clients now and pins since start, per tenant id (frontend/pin.ts). */
  pinStats?(): ReadonlyMap<string, { readonly pinned: number; readonly pins: ReadonlyMap<string, number> }>;
  /** LISTEN/NOTIFY in transaction mode, per tenant with a listener (stats/listen-metrics.ts). */
  listenStats?(): ListenStats[];
}

/** Seconds; from sub-millisecond (a server released just in time) to the default checkout_timeout. */
const WAIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PoolerMetrics {
  readonly registry: Registry;
  /** Records how long a queued client waited for a server connection. */
  observeCheckoutWait(tenantId: string, seconds: number): void;
  /** Records a planned switchover's hold of a tenant's new transactions when it ends (backend/switchover.ts). */
  observeSwitchover(tenantId: string, seconds: number, outcome: 'confirmed' | 'timeout'): void;
}

/** Seconds; a planned switchover's hold, up to the upper bound of switchover_timeout (300). */
const SWITCHOVER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createMetrics(src: MetricsSource): PoolerMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  /** Per tenant: pool stats (if the pool exists) for every tenant of the snapshot. */
  const poolsByTenant = (): Map<string, PoolStats | undefined> => {
    const m = new Map<string, PoolStats | undefined>();
    for (const id of src.tenantIds()) m.set(id, undefined);
    for (const s of src.poolStats()) m.set(s.tenantId, s);
    return m;
  };

  new Gauge({
    name: 'switchyard_pool_clients',
    help: 'Logged-in client connections per tenant: active (not queued) or waiting for a server connection',
    labelNames: ['tenant', 'state'] as const,
    registers,
    collect() {
      this.reset();
      const counts = src.clientsPerTenant();
      for (const [tenant, s] of poolsByTenant()) {
        const waiting = s?.clientsWaiting ?? 0;
        this.set({ tenant, state: 'active' }, Math.max(0, (counts.get(tenant) ?? 0) - waiting));
        this.set({ tenant, state: 'waiting' }, waiting);
      }
    },
  });

  new Gauge({
    name: 'switchyard_pool_servers',
    help: 'Server connections per tenant: active (linked to a client or being reset), idle, or connecting',
    labelNames: ['tenant', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const [tenant, s] of poolsByTenant()) {
        this.set({ tenant, state: 'active' }, s?.serversActive ?? 0);
        this.set({ tenant, state: 'idle' }, s?.serversIdle ?? 0);
        this.set({ tenant, state: 'connecting' }, s?.serversConnecting ?? 0);
      }
    },
  });

  new Gauge({
    name: 'switchyard_pool_size',
    help: 'Configured maximum server connections per tenant (pool.size)',
    labelNames: ['tenant'] as const,
    registers,
    collect() {
      this.reset();
      for (const [tenant, s] of poolsByTenant()) if (s !== undefined) this.set({ tenant }, s.size);
    },
  });

  new Gauge({
    name: 'switchyard_pool_lease_size',
    help: "This pooler's share of the tenant's fleet-wide size (fleet budgets, docs/fleet.md); absent without fleet budgets",
    labelNames: ['tenant'] as const,
    registers,
    collect() {
      this.reset();
      for (const [tenant, s] of poolsByTenant()) if (s?.leaseSize !== undefined) this.set({ tenant }, s.leaseSize);
    },
  });

  new Gauge({
    name: 'switchyard_pool_paused',
    help: '1 while the tenant is paused (admin PAUSE or KILL), else 0',
    labelNames: ['tenant'] as const,
    registers,
    aggregator: 'max',
    collect() {
      this.reset();
      for (const tenant of poolsByTenant().keys()) this.set({ tenant }, src.isPaused(tenant) ? 1 : 0);
    },
  });

  new Gauge({
    name: 'switchyard_pool_max_wait_seconds',
    help: 'How long the oldest queued client of the tenant has been waiting (0 when none waits)',
    labelNames: ['tenant'] as const,
    registers,
    aggregator: 'max',
    collect() {
      this.reset();
      for (const [tenant, s] of poolsByTenant()) this.set({ tenant }, (s?.maxWaitMs ?? 0) / 1000);
    },
  });

  const wait = new Histogram({
    name: 'switchyard_pool_checkout_wait_seconds',
    help: 'Time a client queued for a server connection, from enqueue to getting one (immediate checkouts are not observed)',
    labelNames: ['tenant'] as const,
    buckets: WAIT_BUCKETS,
    registers,
  });

  const switchoverPauses = new Counter({
    name: 'switchyard_switchover_pauses_total',
    help: 'Planned switchovers that held a tenant\'s new transactions, by how they ended: confirmed (the new writer was published) or timeout (switchover_timeout passed first)',
    labelNames: ['tenant', 'outcome'] as const,
    registers,
  });
  const switchoverPause = new Histogram({
    name: 'switchyard_switchover_pause_seconds',
    help: 'How long a planned switchover held a tenant\'s new transactions, from the reload that marked the cluster switching to the one that cleared it (or the timeout)',
    labelNames: ['tenant'] as const,
    buckets: SWITCHOVER_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'switchyard_switchover_clients_queued',
    help: 'Clients queued for a server connection while a planned switchover holds their tenant\'s new transactions',
    labelNames: ['tenant'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of src.poolStats()) if (s.switching) this.set({ tenant: s.tenantId }, s.clientsWaiting);
    },
  });

  /** A counter whose value per tenant is read from pool stats at scrape time. */
  const poolCounter = (name: string, help: string, read: (s: PoolStats) => number): void =>
    tenantSeries('counter', registers, name, help, () => src.poolStats(), (s) => s.tenantId, read);
  poolCounter('switchyard_pool_checkouts_total', 'Server connections handed to clients (immediately or after queueing)', (s) => s.totalCheckouts);
  poolCounter('switchyard_pool_checkout_timeouts_total', 'Clients that gave up waiting for a server connection (checkout_timeout)', (s) => s.totalCheckoutTimeouts);
  poolCounter('switchyard_server_connects_total', 'Server connections opened (attempts)', (s) => s.totalServerConnects);
  poolCounter('switchyard_server_connect_errors_total', 'Server connection attempts that failed', (s) => s.totalServerConnectErrors);

  /** A counter whose value per tenant is read from the traffic totals at scrape time. */
  const totalsCounter = (name: string, help: string, read: (t: TenantTotals) => number): void =>
    tenantSeries('counter', registers, name, help, () => src.tenantTotals(), ([tenant]) => tenant, ([, t]) => read(t));
  totalsCounter('switchyard_transactions_total', 'Transactions completed through the pooler (ReadyForQuery idle, nothing outstanding)', (t) => t.transactions);
  totalsCounter('switchyard_queries_total', 'Queries completed through the pooler (a lower bound: see docs/metrics.md)', (t) => t.queries);
  totalsCounter('switchyard_client_received_bytes_total', 'Bytes received from clients', (t) => t.bytesIn);
  totalsCounter('switchyard_client_sent_bytes_total', 'Bytes sent to clients', (t) => t.bytesOut);

  new Counter({
    name: 'switchyard_client_disconnects_total',
    help: 'Client connections ended, by reason (client_close is a normal end; the others are errors)',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of src.disconnectCounts()) this.inc({ reason }, n);
    },
  });

  new Counter({
    name: 'switchyard_pins_total',
    help: 'Transaction-mode clients pinned to their server connection, by tenant and reason (temp_table, held_cursor, advisory_lock, role)',
    labelNames: ['tenant', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [tenant, s] of src.pinStats?.() ?? []) for (const [reason, n] of s.pins) this.inc({ tenant, reason }, n);
    },
  });

  new Gauge({
    name: 'switchyard_pinned_clients',
    help: 'Transaction-mode clients pinned to their server connection now',
    labelNames: ['tenant'] as const,
    registers,
    collect() {
      this.reset();
      for (const [tenant, s] of src.pinStats?.() ?? []) this.set({ tenant }, s.pinned);
    },
  });

  new Counter({
    name: 'switchyard_reloads_total',
    help: 'Configuration reloads applied',
    registers,
    // Every worker applies every reload: the machine applied as many as its busiest worker.
    aggregator: 'max',
    collect() {
      this.reset();
      this.inc(src.reloadCount);
    },
  });

  new Gauge({
    name: 'switchyard_config_version',
    help: 'Version of the routing snapshot in use',
    registers,
    aggregator: 'max',
    collect() {
      this.set(src.configVersion);
    },
  });

  new Gauge({
    name: 'switchyard_applied_config_version',
    help: 'The control plane config version this pooler applied last (local/aws sources; 0 with a file source)',
    registers,
    aggregator: 'min',
    collect() {
      // The same value as SHOW CONFIG's applied_config_version (admin/show-config.ts).
      this.set(src.appliedConfigVersion ?? 0);
    },
  });

  new Gauge({
    name: 'switchyard_config_skipped_tenants',
    help: 'Tenants of the configuration in use that are not served, being invalid or in conflict with another (the log and SHOW CONFIG say why)',
    registers,
    aggregator: 'max',
    collect() {
      this.set(src.skippedTenantCount?.() ?? 0);
    },
  });

  new Counter({
    name: 'switchyard_client_connections_refused_total',
    help: 'Client connections refused with 53300 when accepted, by limit: max_client_conn or max_unauthenticated_per_address',
    labelNames: ['limit'] as const,
    registers,
    collect() {
      this.reset();
      for (const [limit, n] of src.refusedConnections?.() ?? []) this.inc({ limit }, n);
    },
  });

  new Gauge({
    name: 'switchyard_draining',
    help: '1 while the pooler drains for shutdown (then /readyz answers 503), else 0',
    registers,
    aggregator: 'max',
    collect() {
      this.set(src.draining ? 1 : 0);
    },
  });

  if (src.readerMetrics !== undefined) registerReaderMetrics(registry, src.readerMetrics);

  latencyHistogram(registry, 'switchyard_transaction_duration_seconds', 'Transaction time per tenant: from the first request reaching a server connection (checkout wait excluded) to the ReadyForQuery idle that ends it', (l) => l.xact, src);
  latencyHistogram(registry, 'switchyard_query_duration_seconds', 'Query time per tenant: from a request sent with nothing outstanding to the ReadyForQuery that leaves nothing outstanding (a pipelined batch counts once)', (l) => l.query, src);

  registerListenMetrics(registers, () => src.listenStats?.() ?? []);

  return {
    registry,
    observeCheckoutWait(tenantId, seconds) {
      wait.observe({ tenant: tenantId }, seconds);
    },
    observeSwitchover(tenantId, seconds, outcome) {
      switchoverPause.observe({ tenant: tenantId }, seconds);
      switchoverPauses.inc({ tenant: tenantId, outcome });
    },
  };
}

const LE = [...LATENCY_BUCKETS.map(String), '+Inf'];

/**
 * A histogram whose buckets the client connections fill themselves (stats/latency.ts) and that is
 * read at scrape time: registered as a metric object of prom-client's shape (`get()` returning
 * the `_bucket`/`_sum`/`_count` values), which its text format and its worker aggregation
 * (AggregatorRegistry sums histogram values by name and labels) handle as its own histograms.
 */
function latencyHistogram(registry: Registry, name: string, help: string, pick: (l: TenantLatency) => LatencyHistogram, src: MetricsSource): void {
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [tenant, l] of src.tenantLatency?.() ?? []) {
        const h = pick(l);
        if (h.count === 0) continue;
        const cumulative = h.cumulative();
        for (let i = 0; i < LE.length; i++) values.push({ labels: { le: LE[i]!, tenant }, value: cumulative[i]!, metricName: `${name}_bucket` });
        values.push({ labels: { tenant }, value: h.sumMs / 1000, metricName: `${name}_sum` });
        values.push({ labels: { tenant }, value: h.count, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {},
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}
