// `switchyard start` as a child process, for the demo (when no stack is running) and the
// end-to-end test: started the way a user starts it (`npm start -- ...` or the bin directly), in a
// process group of its own so that stop() can send SIGINT to the whole group — exactly what a
// Ctrl-C in a terminal does — and then waits for every process of it to be gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { readApiToken } from './api-token.ts';
import { DEFAULT_PORTS, PORT_FLAGS, type PortName } from './options.ts';
import { isAlive, waitForExit } from './pids.ts';
import type { StackInfo } from './stack.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const READY_LINE = 'Switchyard is ready.';

export interface StackProcessOptions {
  /** `npm`: `npm start -- <flags>` (set-up script included); `node`: `node bin/switchyard.js start <flags>`. */
  via: 'npm' | 'node';
  stateDir: string;
  ports: Record<PortName, number>;
  env?: NodeJS.ProcessEnv;
  /** Each line the stack prints (stdout and stderr). */
  onLine?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface StackProcess {
  readonly child: ChildProcess;
  readonly info: StackInfo;
  /** The API's bearer token (`<stateDir>/api-token`). */
  readonly apiToken: string;
  output(): string;
  /** Ctrl-C (SIGINT to the process group), then waits for the group leader to exit. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class StackProcessError extends Error {
  readonly code = 'STACK_PROCESS' as const;
}

/** Free ports for every listener (tests, and a demo that must not collide with `npm start`). */
export async function freePorts(): Promise<Record<PortName, number>> {
  const ports = {} as Record<PortName, number>;
  const used = new Set<number>();
  for (const name of Object.keys(DEFAULT_PORTS) as PortName[]) {
    let p = await freePort();
    while (used.has(p)) p = await freePort();
    used.add(p);
    ports[name] = p;
  }
  return ports;
}

export function startFlags(stateDir: string, ports: Record<PortName, number>): string[] {
  return ['--state-dir', stateDir, ...(Object.entries(ports) as [PortName, number][]).flatMap(([name, port]) => [`--${PORT_FLAGS[name].flag}`, String(port)])];
}

export async function spawnStack(opts: StackProcessOptions): Promise<StackProcess> {
  const flags = startFlags(opts.stateDir, opts.ports);
  const [cmd, args] =
    opts.via === 'npm' ? ['npm', ['start', '--silent', '--', ...flags]] : [process.execPath, [join(ROOT, 'bin', 'switchyard.js'), 'start', ...flags]];
  // PATH first gets the pinned Node 22 (node_modules/.bin), as `npm start` would.
  const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, ...opts.env };
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let pending = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      res(exit);
    }),
  );
  let onReady: (() => void) | undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  const feed = (d: Buffer): void => {
    const s = d.toString();
    out = (out + s).slice(-500_000);
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) {
      opts.onLine?.(l);
      if (l.trim() === READY_LINE) onReady?.();
    }
  };
  child.stdout?.on('data', feed);
  child.stderr?.on('data', feed);
  const timeout = opts.readyTimeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeout))),
  ]);
  clearTimeout(timer);
  const groupKill = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  if (outcome !== 'ready') {
    if (outcome === 'timeout') groupKill('SIGINT');
    throw new StackProcessError(`switchyard start ${outcome === 'exited' ? `exited (code ${exit?.code})` : `was not ready within ${timeout / 1000} s`}:\n${out}`);
  }
  const info = JSON.parse(readFileSync(join(opts.stateDir, 'stack.json'), 'utf8')) as StackInfo;
  const apiToken = readApiToken(opts.stateDir);
  if (apiToken === undefined) throw new StackProcessError(`switchyard start is ready but wrote no token to ${join(opts.stateDir, 'api-token')}`);
  return {
    child,
    info,
    apiToken,
    output: () => out,
    async stop(timeoutMs = 60_000) {
      if (exit) return exit;
      groupKill('SIGINT');
      let t: NodeJS.Timeout | undefined;
      const r = await Promise.race([exited, new Promise<undefined>((res) => (t = setTimeout(() => res(undefined), timeoutMs)))]);
      clearTimeout(t);
      if (r) {
        // npm may exit before its child finishes cleaning up: wait for the stack itself too.
        await waitForExit(info.pid, timeoutMs);
        return r;
      }
      groupKill('SIGKILL');
      if (isAlive(info.pid)) process.kill(info.pid, 'SIGKILL');
      throw new StackProcessError(`switchyard start did not stop within ${timeoutMs / 1000} s after SIGINT:\n${out.slice(-4000)}`);
    },
  };
}
