// What the numbers were measured on, recorded in the JSON so results from different machines
// or commits are never compared blindly.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

function quiet(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], ...(cwd ? { cwd } : {}) }).trim();
  } catch {
    return '';
  }
}

export interface Environment {
  node: string;
  postgres: string;
  pgbench: string;
  pgbouncer: string;
  cpuModel: string;
  cpuCount: number;
  memoryMiB: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  gitCommit: string;
  gitDirty: boolean;
}

/** 1-, 5- and 15-minute load averages, rounded: how busy the shared machine was. */
export function loadAverage(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Call at the start of the bench: git state and load then; finish() adds what is known later. */
export function describeEnvironment(repoRoot: string): { finish(postgres: string, pgbouncer: string): Environment } {
  const start = {
    loadAverageAtStart: loadAverage(),
    gitCommit: quiet('git', ['rev-parse', '--short', 'HEAD'], repoRoot),
    gitDirty: quiet('git', ['status', '--porcelain', '--untracked-files=no'], repoRoot) !== '',
  };
  return {
    finish: (postgres, pgbouncer) => ({
      node: process.version,
      postgres,
      pgbench: quiet('pgbench', ['--version']),
      pgbouncer,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpuCount: cpus().length,
      memoryMiB: Math.round(totalmem() / 1024 / 1024),
      ...start,
      loadAverageAtEnd: loadAverage(),
    }),
  };
}
