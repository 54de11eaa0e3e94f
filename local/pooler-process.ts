// The pooler as a child process, exactly as it runs in production: `switchyard pooler --source
// local --state-dir DIR --config DIR/pooler.yaml`. It reads tenants and targets from the state
// directory, writes `<stateDir>/pooler.pid` itself (the control plane SIGHUPs that pid after a
// change), and drains on SIGTERM. It runs in a process group of its own, so a Ctrl-C in the
// terminal reaches only `switchyard start`, which then stops the pooler first and PostgreSQL after.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../shared/src/local/atomic-file.ts';
import { toYaml } from '../shared/src/yaml.ts';
import type { StateLayout } from './layout.ts';
import { LOCALHOST } from './nodes.ts';
import { commandArgs, isAlive } from './pids.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'switchyard.js');

export const ADMIN_USER = 'admin';
/** The pooler's id in heartbeats (GET /poolers). */
export const POOLER_ID = 'local';
/** Seconds a SIGTERM waits for open transactions before closing everything (limits.shutdown_timeout). */
export const POOLER_SHUTDOWN_TIMEOUT_S = 5;

export interface PoolerSettings {
  host: string;
  port: number;
  metricsPort: number;
  adminVerifier: string;
  logLevel: string;
}

export interface PoolerChild {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly metricsPort: number;
  running(): boolean;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (drain), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export class PoolerStartError extends Error {
  readonly code = 'POOLER_START_FAILED' as const;
}

/**
 * The pooler's settings file: listener, admin console user, metrics; tenants come from the state.
 * Mode 0600 (it holds the admin console's SCRAM verifier, which allows an offline guess of the
 * password), written to a new file and renamed over the old one, so a file left with a wider mode
 * by an earlier version does not keep it.
 */
export async function writePoolerConfig(layout: StateLayout, s: PoolerSettings): Promise<void> {
  const config = {
    listen: { host: s.host, port: s.port },
    log_level: s.logLevel,
    limits: { shutdown_timeout: POOLER_SHUTDOWN_TIMEOUT_S },
    admin: { users: [{ user: ADMIN_USER, verifier: s.adminVerifier }] },
    metrics: { host: LOCALHOST, port: s.metricsPort },
  };
  await writeFileAtomic(layout.poolerConfig, `# Written by \`switchyard start\` at every start; edits are overwritten.\n${toYaml(config)}`, 0o600);
}

/** Where this machine reaches a listener bound to `host` (a wildcard through loopback). */
export function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? LOCALHOST : host;
}

export function canConnect(port: number, host = LOCALHOST): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function poolerArgs(layout: StateLayout): string[] {
  return [BIN, 'pooler', '--source', 'local', '--state-dir', layout.dir, '--config', layout.poolerConfig];
}

/**
 * A live process that is exactly the pooler `switchyard start` runs on this state directory (its
 * arguments, not a substring of its command line). For a `pooler.pid` written before the file
 * recorded the pooler's start time (shared/src/local/pid-file.ts).
 */
export function isStackPooler(pid: number, layout: StateLayout): boolean {
  const args = isAlive(pid) ? commandArgs(pid) : undefined;
  const want = poolerArgs(layout);
  return args !== undefined && args.length === want.length + 1 && want.every((a, i) => args[i + 1] === a);
}

export async function startPoolerChild(layout: StateLayout, s: PoolerSettings, timeoutMs = 30_000): Promise<PoolerChild> {
  await writePoolerConfig(layout, s);
  const logFd = openSync(layout.poolerLog, 'a', 0o644);
  const child = spawn(process.execPath, poolerArgs(layout), {
    stdio: ['ignore', logFd, logFd],
    detached: true,
    env: { ...process.env, SWITCHYARD_POOLER_ID: POOLER_ID },
  });
  closeSync(logFd);
  if (child.pid === undefined) throw new PoolerStartError('could not start the pooler process');
  const pid = child.pid;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      res(exitInfo);
    });
  });
  const deadline = Date.now() + timeoutMs;
  const probeHost = reachableHost(s.host);
  while (!(await canConnect(s.port, probeHost))) {
    if (exitInfo) throw new PoolerStartError(`the pooler exited (code ${exitInfo.code}) before listening; the end of ${layout.poolerLog}:\n${tail(layout.poolerLog)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PoolerStartError(`the pooler did not listen on ${s.host}:${s.port} within ${timeoutMs / 1000} s; see ${layout.poolerLog}`);
    }
    await sleep(50);
  }
  return {
    pid,
    host: s.host,
    port: s.port,
    metricsPort: s.metricsPort,
    running: () => exitInfo === undefined,
    exited,
    async stop(graceMs = (POOLER_SHUTDOWN_TIMEOUT_S + 5) * 1000) {
      if (exitInfo) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
