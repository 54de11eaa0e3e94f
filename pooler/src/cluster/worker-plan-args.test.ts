// `--workers`: a count, `auto` (one per core the process may use), or an error message; and the
// worker plan's round trip through the environment.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { encodeWorkerPlan, MAX_WORKERS, parseWorkers, WORKER_ENV, workerPlanFromEnv, type WorkerPlan } from './worker-plan.ts';

describe('parseWorkers', () => {
  it.each([
    [undefined, 1],
    ['', 1],
    ['1', 1],
    ['4', 4],
    [String(MAX_WORKERS), MAX_WORKERS],
  ])('%j → %i', (value, n) => {
    expect(parseWorkers(value)).toBe(n);
  });

  it('auto is one per available core', () => {
    expect(parseWorkers('auto')).toBe(Math.min(availableParallelism(), MAX_WORKERS));
  });

  it.each(['0', '-2', '2.5', 'many', String(MAX_WORKERS + 1)])('%j is refused with a message', (value) => {
    expect(parseWorkers(value)).toMatch(/--workers/);
  });
});

describe('worker plan', () => {
  it('travels through the environment', () => {
    const plan: WorkerPlan = {
      slot: 2,
      count: 3,
      listenPort: 6432,
      relayPort: 40001,
      metrics: true,
      metricsHost: '0.0.0.0',
      metricsPort: 9127,
      replay: ['PAUSE acme'],
    };
    expect(workerPlanFromEnv({ [WORKER_ENV]: encodeWorkerPlan(plan) })).toEqual(plan);
    expect(workerPlanFromEnv({})).toBeUndefined();
    expect(() => workerPlanFromEnv({ [WORKER_ENV]: '{"slot":1}' })).toThrow(/not a worker plan/);
  });
});
