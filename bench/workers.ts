// `npm run bench:workers -- --workers auto`: throughput per added core (bench/README.md "Worker
// scaling"). pgbench -S, simple mode, 50 and 200 clients, interleaved rounds over four targets:
// PgBouncer as one process; N PgBouncers sharing one port with `so_reuseport = 1` (each with its
// own config dir, no unix socket, no pidfile: they run in the foreground); Switchyard as one
// process; Switchyard `--workers N` (docs/workers.md). The machine's pool (--pool-size) is split
// over the processes in every multi-process target, as Switchyard's workers split `pool.size`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepareDatabase } from './database.ts';
import { loadAverage } from './environment.ts';
import { BenchOptionError } from './errors.ts';
import { ensurePgbouncer, startPgbouncer } from './pgbouncer.ts';
import { runPgbench } from './pgbench.ts';
import type { PoolerProcess } from './pooler-process.ts';
import { clockTicksPerSecond, machineBusyTicks, treeCpuTicks } from './proc-stat.ts';
import { parseWorkersOptions, type WorkerTarget } from './scale-options.ts';
import { median } from './summary.ts';
import { startSwitchyard } from './switchyard.ts';
import { availableParallelism } from 'node:os';

const log = (msg: string): void => void process.stderr.write(`workers: ${msg}\n`);
const hz = clockTicksPerSecond();

/** One target: its processes (one or several on the same port) and the login pgbench uses. */
interface Running {
  target: WorkerTarget;
  processes: PoolerProcess[];
}

interface Sample {
  tps: number;
  poolerUs: number;
  postgresUs: number;
  machineUs: number;
}

async function main(): Promise<void> {
  const opts = parseWorkersOptions(process.argv.slice(2), availableParallelism());
  log(`load average ${loadAverage().join(' ')}; ${availableParallelism()} cores; ${opts.processes} processes in the multi-process targets`);
  const db = await prepareDatabase({
    // Every target stays up over the whole run, each holding up to the machine's pool (PgBouncer keeps idle server connections).
    maxConnections: opts.poolSize * opts.targets.length + opts.processes + 50,
    scale: 1,
  });
  const running: Running[] = [];
  const samples = new Map<string, Sample[]>();
  try {
    const maxClients = Math.max(...opts.clients) + 100;
    const common = { server: { host: db.server.host, port: db.server.port }, database: db.database, user: db.user, password: db.password, verifier: db.verifier, maxClients };
    const bin = opts.targets.some((t) => t.startsWith('pgbouncer')) ? await ensurePgbouncer(log) : undefined;
    for (const target of opts.targets) {
      if (target === 'switchyard') running.push({ target, processes: [await startSwitchyard({ ...common, poolSize: opts.poolSize })] });
      if (target === 'switchyard-workers') running.push({ target, processes: [await startSwitchyard({ ...common, poolSize: opts.poolSize, workers: opts.processes })] });
      if (!bin) continue;
      if ('error' in bin) throw new Error(bin.error);
      if (target === 'pgbouncer') running.push({ target, processes: [await startPgbouncer({ ...common, binary: bin.path, poolSize: opts.poolSize })] });
      if (target === 'pgbouncer-reuseport') {
        const share = Math.max(1, Math.floor(opts.poolSize / opts.processes));
        const first = await startPgbouncer({ ...common, binary: bin.path, poolSize: share, soReuseport: true });
        const processes = [first];
        running.push({ target, processes });
        for (let i = 1; i < opts.processes; i++) processes.push(await startPgbouncer({ ...common, binary: bin.path, poolSize: share, soReuseport: true, port: first.login.port }));
      }
    }
    const postmaster = Number(readFileSync(join(db.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // SIGINT/SIGTERM: finish the pgbench run in progress, then stop every pooler and PostgreSQL.
    let stopping = false;
    const stop = (): void => {
      stopping = true;
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
    for (let round = 1; round <= opts.rounds && !stopping; round++) {
      for (const clients of opts.clients) {
        for (const r of running) {
          if (stopping) break;
          const login = r.processes[0]?.login;
          if (!login) continue;
          const cpu = (): number => r.processes.reduce((s, p) => s + treeCpuTicks(p.pid), 0);
          const p0 = cpu();
          const s0 = postmaster ? treeCpuTicks(postmaster) : 0;
          const m0 = machineBusyTicks();
          const out = await runPgbench(login, { clients, jobs: 2, durationSec: opts.durationSec, mode: 'simple' });
          const us = (ticks: number): number => ((ticks / hz) * 1e6) / (out.summary?.transactions ?? 1);
          const key = `${r.target}|${clients}`;
          if (!out.ok) {
            log(`${key} round ${round}: ${out.error}`);
            continue;
          }
          const sample = { tps: out.summary.tps, poolerUs: us(cpu() - p0), postgresUs: postmaster ? us(treeCpuTicks(postmaster) - s0) : NaN, machineUs: us(machineBusyTicks() - m0) };
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          log(`${key} round ${round}: ${sample.tps.toFixed(0)} tps, pooler ${sample.poolerUs.toFixed(1)} µs/tx`);
        }
      }
    }
  } finally {
    for (const r of running) for (const p of r.processes) await p.stop().catch(() => {});
    await db.server.stop().catch(() => {});
  }
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
  const lines = [
    `| clients | target | processes | tps (median, min–max) | × one process | pooler µs/tx | PostgreSQL µs/tx | machine µs/tx |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const clients of opts.clients) {
    for (const target of opts.targets) {
      const s = samples.get(`${target}|${clients}`) ?? [];
      if (s.length === 0) continue;
      const tps = median(s.map((x) => x.tps)) ?? NaN;
      const single = samples.get(`${target.replace(/-(workers|reuseport)$/, '')}|${clients}`) ?? [];
      const ratio = single.length > 0 ? tps / (median(single.map((x) => x.tps)) ?? NaN) : NaN;
      lines.push(
        `| ${clients} | ${target} | ${target.includes('-') ? opts.processes : 1} | ${f(tps)} (${f(Math.min(...s.map((x) => x.tps)))}–${f(Math.max(...s.map((x) => x.tps)))}) | ${f(ratio, 2)} | ${f(median(s.map((x) => x.poolerUs)) ?? NaN, 1)} | ${f(median(s.map((x) => x.postgresUs)) ?? NaN, 1)} | ${f(median(s.map((x) => x.machineUs)) ?? NaN, 1)} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = resolve(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `workers-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options: opts, loadAverage: loadAverage(), samples: Object.fromEntries(samples) }, null, 2));
  log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`workers: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof BenchOptionError ? 2 : 1);
});
