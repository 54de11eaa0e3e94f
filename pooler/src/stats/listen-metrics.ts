// LISTEN/NOTIFY in transaction mode (backend/listener.ts): per tenant, the clients listening and the
// channels the tenant's listening connection holds (gauges), and the notifications handed to
// clients or dropped from a full client queue (counters). Read at scrape time; docs/metrics.md.
import { Counter, Gauge, type Registry } from 'prom-client';

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
  const gauge = (name: string, help: string, pick: (s: ListenStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['tenant'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of read()) this.set({ tenant: s.tenantId }, pick(s));
      },
    });
  };
  const counter = (name: string, help: string, pick: (s: ListenStats) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['tenant'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of read()) this.inc({ tenant: s.tenantId }, pick(s));
      },
    });
  };
  gauge('switchyard_listen_clients', 'Transaction-mode clients listening (a channel in effect or pending) per tenant', (s) => s.clients);
  gauge('switchyard_listen_channels', 'Distinct channels the tenant’s listening connection holds', (s) => s.channels);
  counter('switchyard_notifications_delivered_total', 'Notifications written to transaction-mode clients', (s) => s.delivered);
  counter('switchyard_notifications_dropped_total', 'Notifications dropped from a full client queue (the client got a WARNING)', (s) => s.dropped);
}
