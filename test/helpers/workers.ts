// `switchyard pooler --config FILE --workers N` as a child process for the pooler-workers-* tests:
// started with this process's Node 22 on ports it picks itself, ready once /readyz says every
// worker serves; its worker processes found through /proc (children of the supervisor);
// the console's ptr column tells which worker holds a connection (`w2:c17`).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toYaml } from '../../shared/src/yaml.ts';
import type { PoolerConfigInput } from '../../pooler/src/config/schema.ts';
import { until, within } from './clients.ts';
import { httpGet } from './metrics.ts';
import type { Exit } from './pooler-process.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const START_MS = 30_000;

export interface WorkersPooler {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly metricsPort: number;
  /** The YAML file it runs from (rewrite it, then SIGHUP). */
  readonly file: string;
  readonly exited: Promise<Exit>;
  output(): string;
  /** Process ids of the live worker processes (children of the supervisor). */
  workerPids(): number[];
  /** SIGTERM, wait for the exit (SIGKILL everything after `ms`). */
  stop(ms?: number): Promise<Exit>;
}

/** Children of `pid`, from /proc/<n>/stat (field 4 is the parent's pid; the name in field 2 may hold spaces). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is the state: a zombie is not a running worker.
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Writes `config` and starts the pooler with `--workers workers`. The client and metrics ports are
 * 0, so the pooler picks free ones itself (no window in which another test could take them); they
 * are read from the supervisor's "pooler serving with workers" log line, hence a log level of at
 * least info (the output is kept in memory and shown when a start fails).
 */
export interface WorkersPoolerOptions {
  /** Another source: e.g. ['--source', 'aws']; the file then holds only the base settings. */
  readonly sourceArgs?: readonly string[];
  /** The environment of the pooler (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function startWorkersPooler(config: PoolerConfigInput, dir: string, workers: number | 'auto' = 2, opts: WorkersPoolerOptions = {}): Promise<WorkersPooler> {
  const verbose = config.log_level === 'debug' || config.log_level === 'trace';
  const file = join(dir, `pooler-${randomBytes(4).toString('hex')}.yaml`);
  const full = { ...config, log_level: verbose ? config.log_level : 'info', listen: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 } };
  writeFileSync(file, toYaml(full), { mode: 0o600 });
  const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard.js'), 'pooler', ...(opts.sourceArgs ?? []), '--config', file, '--workers', String(workers)], {
    cwd: ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let serving: { port: number; metricsPort: number } | undefined;
  child.stdout?.on('data', (d: Buffer) => {
    const from = out.length;
    out += d.toString();
    if (serving === undefined) serving = servingLine(out.slice(Math.max(0, out.lastIndexOf('\n', from - 1) + 1)));
  });
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const pid = child.pid!;
  try {
    await until(() => gone || serving !== undefined, START_MS, 'the supervisor to report every worker serving');
    if (gone) throw new Error('the pooler exited early');
    await until(async () => gone || (await readyz(serving!.metricsPort)) === 200, START_MS, '/readyz 200');
    if (gone) throw new Error('the pooler exited early');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  const { port, metricsPort } = serving!;
  return {
    child,
    pid,
    host: '127.0.0.1',
    port,
    metricsPort,
    file,
    exited,
    output: () => out,
    workerPids: () => childPids(pid),
    async stop(ms = 40_000) {
      const workersLeft = childPids(pid);
      if (!gone) child.kill('SIGTERM');
      try {
        return await within(exited, ms, 'the pooler to exit after SIGTERM');
      } catch (err) {
        child.kill('SIGKILL');
        for (const w of workersLeft) if (alive(w)) process.kill(w, 'SIGKILL');
        throw err;
      }
    },
  };
}

/** The ports in the supervisor's `pooler serving with workers` line, if `text` has it. */
function servingLine(text: string): { port: number; metricsPort: number } | undefined {
  // Complete lines only: the last piece may be a line still being written.
  for (const line of text.split('\n').slice(0, -1)) {
    if (!line.includes('"pooler serving with workers"')) continue;
    const e = JSON.parse(line) as { port?: number; metricsPort?: number };
    if (typeof e.port === 'number' && typeof e.metricsPort === 'number') return { port: e.port, metricsPort: e.metricsPort };
  }
  return undefined;
}

export async function readyz(metricsPort: number): Promise<number> {
  try {
    return (await httpGet(metricsPort, '/readyz')).status;
  } catch {
    return 0;
  }
}

/** The worker number in a console ptr (`w2:c17` → 2). */
export function workerOf(ptr: unknown): number {
  const m = /^w(\d+):/.exec(String(ptr));
  if (!m) throw new Error(`not a worker-tagged ptr: ${String(ptr)}`);
  return Number(m[1]);
}

/** SHOW CLIENTS rows of one tenant, counted per worker. */
export function clientsPerWorker(rows: readonly Record<string, unknown>[], tenantId: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of rows) if (r.database === tenantId) m.set(workerOf(r.ptr), (m.get(workerOf(r.ptr)) ?? 0) + 1);
  return m;
}
