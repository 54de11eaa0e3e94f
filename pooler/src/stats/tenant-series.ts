// A Prometheus series per tenant whose values are read at scrape time (prom-client `collect`): the
// pooler keeps its own figures (pools, traffic totals, LISTEN), and the metric only reads them.
import { Counter, Gauge, type Registry } from 'prom-client';

/** `rows()` gives the current rows, `tenantOf`/`pick` the label and the value of each. */
export function tenantSeries<T>(
  kind: 'gauge' | 'counter',
  registers: Registry[],
  name: string,
  help: string,
  rows: () => Iterable<T>,
  tenantOf: (row: T) => string,
  pick: (row: T) => number,
): void {
  if (kind === 'gauge') {
    new Gauge({
      name,
      help,
      labelNames: ['tenant'] as const,
      registers,
      collect() {
        this.reset();
        for (const r of rows()) this.set({ tenant: tenantOf(r) }, pick(r));
      },
    });
    return;
  }
  new Counter({
    name,
    help,
    labelNames: ['tenant'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of rows()) this.inc({ tenant: tenantOf(r) }, pick(r));
    },
  });
}
