// LISTEN/NOTIFY in transaction mode (backend/listener.ts): per tenant, the clients listening and the
// channels the tenant's listening connection holds (gauges), and the notifications handed to
// clients or dropped from a full client queue (counters). Read at scrape time; docs/metrics.md.
import type { Registry } from 'prom-client';
import { tenantSeries } from './tenant-series.ts';

export interface ListenStats {
  tenantId: string;
  /** Clients with a channel in effect or pending. */
  clients: number;
  /** Distinct channels the tenant's listener holds. */
  channels: number;
  delivered: number;
  dropped: number;
}

export function registerListenMetrics(registers: Registry[], read: () => ListenStats[]): void {
  const tenant = (s: ListenStats): string => s.tenantId;
  tenantSeries('gauge', registers, 'switchyard_listen_clients', 'Transaction-mode clients listening (a channel in effect or pending) per tenant', read, tenant, (s) => s.clients);
  tenantSeries('gauge', registers, 'switchyard_listen_channels', 'Distinct channels the tenant’s listening connection holds', read, tenant, (s) => s.channels);
  tenantSeries('counter', registers, 'switchyard_notifications_delivered_total', 'Notifications written to transaction-mode clients', read, tenant, (s) => s.delivered);
  tenantSeries('counter', registers, 'switchyard_notifications_dropped_total', 'Notifications dropped from a full client queue (the client got a WARNING)', read, tenant, (s) => s.dropped);
}
