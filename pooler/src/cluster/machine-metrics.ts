// One /metrics for the machine (`--workers N`, docs/metrics.md "Several workers"): at each scrape
// the supervisor gathers every worker's registry as JSON over IPC and merges them with prom-client's
// AggregatorRegistry.aggregate(): amounts are summed, and the few metrics that are not amounts say
// how they merge (stats/metrics.ts, `aggregator`). The supervisor adds its own: workers by state,
// restarts, relayed cancels.
//
// Counters never go backwards when a worker dies: the last counters and histograms gathered from
// it are kept (folded together across dead workers) and merged into every later scrape, as the
// pooler itself folds a departed client's counts into its tenant's totals. What the dead worker
// counted after its last scrape is lost; Prometheus never saw it, so it sees no decrease.
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { MetricsJson } from './messages.ts';

export interface MachineView {
  /** Workers by state (starting, ready, draining). */
  workerStates(): ReadonlyMap<string, number>;
  restarts(): number;
  cancelsRelayed(): number;
}

const FOLDED = new Set(['counter', 'histogram']);

export class MachineMetrics {
  readonly #own = new Registry();
  #retired: MetricsJson = [];

  constructor(view: MachineView) {
    const registers = [this.#own];
    new Gauge({
      name: 'switchyard_workers',
      help: 'Worker processes of this machine by state: starting, ready (serving), draining',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.reset();
        for (const state of ['starting', 'ready', 'draining']) this.set({ state }, view.workerStates().get(state) ?? 0);
      },
    });
    new Counter({
      name: 'switchyard_worker_restarts_total',
      help: 'Worker processes restarted after they exited unasked (crash, kill, or a SIGTERM to the worker alone)',
      registers,
      collect() {
        this.reset();
        this.inc(view.restarts());
      },
    });
    new Counter({
      name: 'switchyard_cancel_requests_relayed_total',
      help: 'CancelRequests a worker received for a key another worker of this machine issued, relayed to that worker',
      registers,
      collect() {
        this.reset();
        this.inc(view.cancelsRelayed());
      },
    });
  }

  readonly contentType = this.#own.contentType;

  /** The merged exposition of `workers` (each worker's registry JSON), the dead workers' counters and the supervisor's own. */
  async text(workers: readonly MetricsJson[]): Promise<string> {
    return AggregatorRegistry.aggregate([...workers, this.#retired, await this.#own.getMetricsAsJSON()]).metrics();
  }

  /** A worker exited: keep the counters and histograms last gathered from it. */
  async retire(last: MetricsJson): Promise<void> {
    // MetricObject.type is typed as an enum but is the text 'counter', 'histogram', ... at run time.
    const kept = last.filter((m) => FOLDED.has(String(m.type)));
    if (kept.length === 0) return;
    this.#retired = await AggregatorRegistry.aggregate([this.#retired, kept]).getMetricsAsJSON();
  }
}
