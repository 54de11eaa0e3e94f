// Read endpoint metrics (docs/metrics.md "Read endpoints"), read at scrape time like the others:
// each reader's measured replica lag, whether it answers the probe, and per tenant the read
// transactions sent to a reader or, for want of a qualifying one, to the writer.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ReaderMetricsSource {
  /** Every probed reader: `host:port`, the last measured lag (undefined = unknown/down). */
  readerLags(): Iterable<{ readonly key: string; readonly lagMs: number | undefined }>;
  /** Per tenant with a read endpoint in use: transactions routed to readers and to the writer. */
  readRouting(): Iterable<{ readonly tenantId: string; readonly routedToReader: number; readonly routedToWriter: number }>;
}

export function registerReaderMetrics(registry: Registry, src: ReaderMetricsSource): void {
  const registers = [registry];
  new Gauge({
    name: 'switchyard_reader_replica_lag_seconds',
    help: 'Replica lag of each reader as last measured by the pooler (absent while unknown: reader down or not answering)',
    labelNames: ['reader'] as const,
    registers,
    aggregator: 'max',
    collect() {
      this.reset();
      for (const r of src.readerLags()) if (r.lagMs !== undefined) this.set({ reader: r.key }, r.lagMs / 1000);
    },
  });
  new Gauge({
    name: 'switchyard_reader_up',
    help: '1 when the reader answered the last replica lag probe, else 0',
    labelNames: ['reader'] as const,
    registers,
    aggregator: 'min',
    collect() {
      this.reset();
      for (const r of src.readerLags()) this.set({ reader: r.key }, r.lagMs === undefined ? 0 : 1);
    },
  });
  new Counter({
    name: 'switchyard_read_transactions_total',
    help: 'Transactions (sessions in session mode) of read endpoints, by where they went: a reader, or the writer when no reader qualified',
    labelNames: ['tenant', 'routed_to'] as const,
    registers,
    collect() {
      this.reset();
      for (const t of src.readRouting()) {
        this.inc({ tenant: t.tenantId, routed_to: 'reader' }, t.routedToReader);
        this.inc({ tenant: t.tenantId, routed_to: 'writer' }, t.routedToWriter);
      }
    },
  });
}
