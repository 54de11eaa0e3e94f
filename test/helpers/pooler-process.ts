// `switchyard pooler …` as a child process, started with this process's Node (the pinned Node 22)
// and ready once its client port accepts TCP connections: the one way the process-level tests
// (memory sampling, several poolers, failover with `--source local`, SIGTERM drain) start it.
// `--workers` runs have their own helper (workers.ts): there the pooler picks its ports itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { until } from './clients.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const LISTEN_MS = 30_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PoolerChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly exited: Promise<Exit>;
  /** stdout + stderr so far (the last `keepOutput` characters). */
  output(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s); nothing if it has already exited. */
  stop(): Promise<void>;
}

/**
 * Runs `switchyard pooler <args>` and resolves once 127.0.0.1:`port` (the port its config listens
 * on) accepts connections. Rejects with the process's output if it exits first, or kills it and
 * rejects if it does not listen within 30 s.
 */
export async function spawnPooler(
  args: string[],
  port: number,
  opts: { keepOutput?: number; env?: NodeJS.ProcessEnv; /** Options for Node itself, before the script. */ nodeArgs?: string[] } = {},
): Promise<PoolerChild> {
  const keep = opts.keepOutput ?? Number.POSITIVE_INFINITY;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(ROOT, 'bin/switchyard.js'), 'pooler', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
  let out = '';
  const append = (d: Buffer): void => {
    out += d.toString();
    if (out.length > keep) out = out.slice(-keep);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await until(async () => gone || (await canConnect(port)), LISTEN_MS, 'the pooler process to listen');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}:\n${out}`);
  }
  if (gone) throw new Error(`pooler process exited early:\n${out}`);
  return {
    child,
    pid: child.pid!,
    host: '127.0.0.1',
    port,
    exited,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Whether 127.0.0.1:`port` accepts a TCP connection now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}
