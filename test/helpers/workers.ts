// `switchyard pooler --config FILE --workers N` as a child process for the pooler-workers-* tests:
// started with this process's Node 22 on free ports (client and metrics), ready once /readyz says
// every worker serves; its worker processes found through /proc (children of the supervisor);
// the console's ptr column tells which worker holds a connection (`w2:c17`).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { PoolerConfigInput } from '../../pooler/src/config/schema.ts';
import { freePort } from '../../shared/src/local/postgres-server.ts';
import { until, within } from './clients.ts';
import { httpGet } from './metrics.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const START_MS = 30_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

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

/** Writes `config` (listen/metrics ports are filled in) and starts the pooler with `--workers workers`. */
export async function startWorkersPooler(config: PoolerConfigInput, dir: string, workers: number | 'auto' = 2): Promise<WorkersPooler> {
  const port = await freePort();
  const metricsPort = await freePort();
  const file = join(dir, `pooler-${port}.yaml`);
  const full = { ...config, listen: { host: '127.0.0.1', port }, metrics: { host: '127.0.0.1', port: metricsPort } };
  writeFileSync(file, stringify(full), { mode: 0o600 });
  const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard.js'), 'pooler', '--config', file, '--workers', String(workers)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const pid = child.pid!;
  const p: WorkersPooler = {
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
  try {
    await until(async () => gone || (await readyz(metricsPort)) === 200, START_MS, 'every worker to serve (/readyz 200)');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  if (gone) throw new Error(`the pooler exited early:\n${out}`);
  return p;
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
