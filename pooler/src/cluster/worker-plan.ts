// What the supervisor tells a worker process it forks (`--workers N`, docs/workers.md). It travels
// in one environment variable, so the worker runs the very same entry point and arguments as the
// supervisor (`bin/switchyard.js pooler ...` in a checkout, `main.js ...` in the deploy bundle).
import { availableParallelism } from 'node:os';

export const WORKER_ENV = 'SWITCHYARD_WORKER';
/** Node ids are 10 bits (frontend/cancel-keys.ts), and each worker needs one. */
export const MAX_WORKERS = 1024;

export interface WorkerPlan {
  /** 1..count: the worker's slot; a restarted worker keeps its slot (and node id). */
  readonly slot: number;
  readonly count: number;
  /** The machine's client port (the first worker resolves `listen.port: 0`). */
  readonly listenPort: number | undefined;
  /** The supervisor's loopback port that relays CancelRequests to the worker that issued the key. */
  readonly relayPort: number;
  /** Whether the supervisor serves /metrics (then each worker keeps a registry for it to gather). */
  readonly metrics: boolean;
  /** The machine's metrics endpoint, for SHOW CONFIG. */
  readonly metricsHost: string | undefined;
  readonly metricsPort: number | undefined;
  /** Console commands to apply before accepting clients: the machine's PAUSE state (cluster/pause-log.ts). */
  readonly replay: readonly string[];
  /** `cluster.node_id: auto`: the node ids the supervisor leased, one per slot (cluster/node-lease.ts). */
  readonly nodeIds?: readonly number[] | undefined;
}

export function encodeWorkerPlan(plan: WorkerPlan): string {
  return JSON.stringify(plan);
}

/** The plan from the environment, or undefined when this process is not a worker. */
export function workerPlanFromEnv(env: NodeJS.ProcessEnv): WorkerPlan | undefined {
  const raw = env[WORKER_ENV];
  if (raw === undefined || raw === '') return undefined;
  const v = JSON.parse(raw) as Partial<WorkerPlan>;
  if (typeof v.slot !== 'number' || typeof v.count !== 'number' || typeof v.relayPort !== 'number' || !Array.isArray(v.replay)) {
    throw new Error(`${WORKER_ENV} is not a worker plan`);
  }
  return {
    slot: v.slot,
    count: v.count,
    listenPort: typeof v.listenPort === 'number' ? v.listenPort : undefined,
    relayPort: v.relayPort,
    metrics: v.metrics === true,
    metricsHost: typeof v.metricsHost === 'string' ? v.metricsHost : undefined,
    metricsPort: typeof v.metricsPort === 'number' ? v.metricsPort : undefined,
    replay: v.replay.filter((c): c is string => typeof c === 'string'),
    nodeIds: Array.isArray(v.nodeIds) && v.nodeIds.every((n) => Number.isInteger(n)) ? v.nodeIds : undefined,
  };
}

/** `--workers N` / `auto` (one per core the process may use). Returns an error message when invalid. */
export function parseWorkers(value: string | undefined): number | string {
  if (value === undefined || value === '') return 1;
  if (value === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  if (!/^\d+$/.test(value)) return `--workers must be a number or "auto", not "${value}"`;
  const n = Number(value);
  if (n < 1 || n > MAX_WORKERS) return `--workers must be 1..${MAX_WORKERS}`;
  return n;
}
