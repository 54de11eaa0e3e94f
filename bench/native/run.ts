// `npm run bench:native`: the floor of forwarding the transaction path (bench/README.md "Native
// data path (N-API experiment)"). pgbench -n -S through five targets, interleaved round by round,
// medians and spread of the rounds:
//   pgbouncer     - PgBouncer, transaction pooling, pool 20 (the reference);
//   pgbouncer-session - PgBouncer, session pooling, pool = clients: PgBouncer as a 1:1 pass-through;
//   switchyard    - the pooler, one tenant, transaction mode, pool 20;
//   js            - a bare Node pass-through (streams), 1:1: one server connection per client;
//   native-uv     - the N-API addon forwarding on Node's event loop (uv_poll), 1:1;
//   native-thread - the N-API addon forwarding on its own epoll thread, 1:1.
// Per run: TPS, CPU per transaction of the forwarding process (its tree's utime+stime from
// /proc/<pid>/stat over the run, see proc-stat.ts) and of PostgreSQL (the postmaster's tree).
//
// Environment: NATIVE_CLIENTS (1,50), NATIVE_MODES (simple,extended), NATIVE_ROUNDS (3),
// NATIVE_DURATION (5 s), NATIVE_TARGETS (all five). Native targets are left out, with the
// reason, when the addon cannot be built (no cc, no headers).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepareDatabase } from '../database.ts';
import { loadAverage } from '../environment.ts';
import { ensurePgbouncer, pgbouncerVersion, startPgbouncer } from '../pgbouncer.ts';
import { runPgbench } from '../pgbench.ts';
import { startPoolerProcess, type PoolerProcess } from '../pooler-process.ts';
import { clockTicksPerSecond, machineBusyTicks, treeCpuTicks } from '../proc-stat.ts';
import { median } from '../summary.ts';
import { startSwitchyard } from '../switchyard.ts';
import { freePort } from '../../shared/src/local/postgres-server.ts';
import type { ProtocolMode } from '../options.ts';
import { buildForwarder, loadForwarder } from './build.ts';

const allTargets = ['pgbouncer', 'pgbouncer-session', 'switchyard', 'js', 'native-uv', 'native-thread'] as const;
type Target = (typeof allTargets)[number];
const list = (name: string, fallback: string): string[] => (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const clients = list('NATIVE_CLIENTS', '1,50').map(Number);
const modes = list('NATIVE_MODES', 'simple,extended') as ProtocolMode[];
const rounds = Number(process.env.NATIVE_ROUNDS ?? 3);
const durationSec = Number(process.env.NATIVE_DURATION ?? 5);
let targets = list('NATIVE_TARGETS', allTargets.join(',')) as Target[];
for (const t of targets) if (!allTargets.includes(t)) throw new Error(`NATIVE_TARGETS: unknown "${t}" (one of ${allTargets.join(', ')})`);
const poolSize = 20;
const log = (msg: string): void => void process.stderr.write(`native: ${msg}\n`);
const hz = clockTicksPerSecond();

const built = buildForwarder();
if (!built.ok) {
  log(`SKIPPING the native targets: ${built.reason}`);
  targets = targets.filter((t) => !t.startsWith('native'));
} else {
  log(`addon built with ${built.compiler}, Node-API headers from ${built.headers}`);
  if (!loadForwarder(built.path).stats().uv) {
    log('SKIPPING native-uv: built without uv.h');
    targets = targets.filter((t) => t !== 'native-uv');
  }
}

interface Sample {
  tps: number;
  proxyUs: number;
  postgresUs: number;
  machineUs: number;
  load: number;
}

const passthroughs = Math.max(...clients) * targets.filter((t) => !['pgbouncer', 'switchyard'].includes(t)).length;
const db = await prepareDatabase({ maxConnections: 2 * poolSize + passthroughs + 50, scale: 1 });
const postmaster = Number(readFileSync(join(db.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const running = new Map<Target, PoolerProcess>();
const samples = new Map<string, Sample[]>();
const loads: number[] = [];
let pgbVersion = '';
try {
  const common = { server: { host: db.server.host, port: db.server.port }, database: db.database, user: db.user, password: db.password, verifier: db.verifier, maxClients: Math.max(...clients) + 50, poolSize };
  for (const t of targets) {
    if (t === 'pgbouncer' || t === 'pgbouncer-session') {
      const bin = await ensurePgbouncer(log);
      if ('error' in bin) {
        log(`SKIPPING pgbouncer: ${bin.error}`);
        continue;
      }
      pgbVersion = pgbouncerVersion(bin.path);
      running.set(t, await startPgbouncer({ ...common, binary: bin.path, ...(t === 'pgbouncer-session' ? { poolMode: 'session' as const, poolSize: Math.max(...clients) } : {}) }));
    } else if (t === 'switchyard') {
      running.set(t, await startSwitchyard(common));
    } else {
      const port = await freePort();
      const dir = resolve(import.meta.dirname, 'build');
      running.set(
        t,
        await startPoolerProcess({
          name: t,
          command: process.execPath,
          args: [join(import.meta.dirname, 'passthrough.ts'), '--engine', t, '--port', String(port), '--target-host', db.server.host, '--target-port', String(db.server.port)],
          outputFile: join(dir, `${t}.log`),
          login: { host: '127.0.0.1', port, database: db.database, user: db.user, password: db.password },
          readyTimeoutMs: 20_000,
          openFiles: 2 * Math.max(...clients) + 100,
        }),
      );
    }
  }
  log(`load average ${loadAverage().join(' ')}; warm-up`);
  for (const [, p] of running) for (const mode of modes) await runPgbench(p.login, { clients: Math.max(...clients), jobs: 2, durationSec: 2, mode });
  for (let round = 1; round <= rounds; round++) {
    for (const c of clients) {
      for (const mode of modes) {
        for (const [t, p] of running) {
          const load = loadAverage()[0] ?? NaN;
          loads.push(load);
          const p0 = treeCpuTicks(p.pid);
          const s0 = treeCpuTicks(postmaster);
          const m0 = machineBusyTicks();
          const o = await runPgbench(p.login, { clients: c, jobs: 2, durationSec, mode });
          const key = `${c}|${mode}|${t}`;
          if (!o.ok) {
            log(`${key} round ${round}: FAILED ${o.error}`);
            continue;
          }
          const us = (ticks: number): number => ((ticks / hz) * 1e6) / o.summary.transactions;
          const s = { tps: o.summary.tps, proxyUs: us(treeCpuTicks(p.pid) - p0), postgresUs: us(treeCpuTicks(postmaster) - s0), machineUs: us(machineBusyTicks() - m0), load };
          samples.set(key, [...(samples.get(key) ?? []), s]);
          log(`${key} round ${round}: ${s.tps.toFixed(0)} tps, forwarder ${s.proxyUs.toFixed(1)} µs/txn, load ${load}`);
        }
      }
    }
  }
} finally {
  for (const [, p] of running) await p.stop().catch(() => {});
  await db.server.stop().catch(() => {});
}

const f = (n: number, d: number): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const cell = (v: number[], d: number): string => `${f(median(v) ?? NaN, d)} (${f(Math.min(...v), d)}–${f(Math.max(...v), d)})`;
const lines = ['| clients | mode | target | tps | forwarder CPU µs/txn | PostgreSQL CPU µs/txn |', '|---|---|---|---|---|---|'];
for (const c of clients) {
  for (const mode of modes) {
    for (const t of targets) {
      const s = samples.get(`${c}|${mode}|${t}`);
      if (!s?.length) continue;
      lines.push(`| ${c} | ${mode} | ${t} | ${cell(s.map((x) => x.tps), 0)} | ${cell(s.map((x) => x.proxyUs), 1)} | ${cell(s.map((x) => x.postgresUs), 1)} |`);
    }
  }
}
process.stdout.write(`${lines.join('\n')}\n\nmedians of ${rounds} interleaved rounds of ${durationSec} s (min–max); 1-minute load average ${f(Math.min(...loads), 1)}–${f(Math.max(...loads), 1)}; ${pgbVersion}\n`);
const resultsDir = resolve(import.meta.dirname, '..', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `native-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ clients, modes, rounds, durationSec, targets, pgbouncer: pgbVersion, build: built, samples: Object.fromEntries(samples) }, null, 2));
log(`wrote ${file}`);
