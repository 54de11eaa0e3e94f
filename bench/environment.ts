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
  gitCommit: string;
  gitDirty: boolean;
}

export function describeEnvironment(repoRoot: string, postgres: string, pgbouncer: string): Environment {
  return {
    node: process.version,
    postgres,
    pgbench: quiet('pgbench', ['--version']),
    pgbouncer,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    gitCommit: quiet('git', ['rev-parse', '--short', 'HEAD'], repoRoot),
    gitDirty: quiet('git', ['status', '--porcelain', '--untracked-files=no'], repoRoot) !== '',
  };
}
