// A/B of Switchyard builds: `pgbench -n -S` through each build's pooler (one PostgreSQL, one tenant
// in transaction mode), interleaved round by round, medians of the rounds: TPS, the pooler's CPU
// per transaction (its process tree, /proc) and PostgreSQL's (the postmaster's tree: every
// backend). For a change's cost per transaction, e.g. the reset between clients:
//
//   git archive main | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
//   node bench/compare-builds.ts before=/tmp/base after=.
//
// Environment: AB_CLIENTS (1,50), AB_MODES (simple,prepared), AB_ROUNDS (5), AB_DURATION (5 s),
// AB_POOL (20); AB_POOL_<NAME> (JSON) adds pool settings for the build named NAME, e.g. the same
// build with and without a setting: `AB_POOL_PINS='{"max_pinned":10}' node bench/compare-builds.ts
// off=. pins=.`; AB_LOG_LEVEL_<NAME> likewise its log_level (default warn); AB_NODE_ARGS_<NAME>
// (space-separated) adds runtime flags for the build named NAME, e.g. a V8 flag's cost:
// `AB_NODE_ARGS_SEMI1='--max-semi-space-size=1' node bench/compare-builds.ts base=. semi1=.`;
// PGOPTIONS reaches pgbench (e.g. `-c search_path=public`: a client with a setting).
// Each cell prints the median and the spread (min–max) of its rounds.
//
// Logins instead of pgbench: AB_LOGINS=N (e.g. 5000) runs, per round and build, N SCRAM logins
// (bare-socket clients, raw-client.ts: two HMACs per login on the client side, no PBKDF2), each
// sending Terminate once logged in, AB_LOGIN_CONCURRENCY (16) at a time; it prints the pooler's CPU
// per login (µs) and logins/s. A build named `name=@bare` is bench/bare-login-server.ts: the same
// logins against a bare Node server (the runtime's floor); `name=@pgbouncer` the system's PgBouncer
// (run as root, the bench drops it to an unprivileged user as `npm run bench` does).
// AB_NODE_ARGS_<NAME>='--cpu-prof --cpu-prof-dir=/tmp/prof' gives a profile of the login path.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareDatabase } from './database.ts';
import { startPoolerProcess, type PoolerProcess } from './pooler-process.ts';
import { startPgbouncer } from './pgbouncer.ts';
import { runPgbench } from './pgbench.ts';
import { clockTicksPerSecond, treeCpuTicks } from './proc-stat.ts';
import { median } from './summary.ts';
import { rawLoginAndLeave } from './raw-client.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { toYaml } from '../shared/src/yaml.ts';
import type { ProtocolMode } from './options.ts';

// name=directory[:runtime]: the runtime (default: this Node) runs that build's bin/switchyard.js,
// e.g. `bun=.:/path/to/bun` for the same checkout under Bun.
const builds = process.argv.slice(2).map((arg) => {
  const [name, spec] = arg.split('=');
  const [root, runtime] = (spec ?? '').split(':');
  if (!name || !root) throw new Error(`expected name=directory[:runtime], got "${arg}"`);
  // `@bare`: bench/bare-login-server.ts, the runtime's floor for a SCRAM login (AB_LOGINS only).
  // `@pgbouncer`: the system's PgBouncer (transaction mode, the same verifier; bench/pgbouncer.ts).
  return { name, root: root.startsWith('@') ? root : resolve(root), runtime: runtime ? resolve(runtime) : process.execPath };
});
if (builds.length === 0) throw new Error('usage: node bench/compare-builds.ts name=directory [name=directory ...]');
const clients = (process.env.AB_CLIENTS ?? '1,50').split(',').map(Number);
const modes = (process.env.AB_MODES ?? 'simple,prepared').split(',') as ProtocolMode[];
const rounds = Number(process.env.AB_ROUNDS ?? 5);
const durationSec = Number(process.env.AB_DURATION ?? 5);
const poolSize = Number(process.env.AB_POOL ?? 20);
const logins = Number(process.env.AB_LOGINS ?? 0);
const loginConcurrency = Number(process.env.AB_LOGIN_CONCURRENCY ?? 16);

const db = await prepareDatabase({ maxConnections: 200, scale: 1 });
const postmaster = Number(readFileSync(join(db.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const poolers: { name: string; p: PoolerProcess; dir: string }[] = [];
try {
  for (const b of builds) {
    if (b.root === '@pgbouncer') {
      const p = await startPgbouncer({ binary: '/usr/sbin/pgbouncer', server: { host: db.server.host, port: db.server.port }, database: db.database, user: db.user, password: db.password, verifier: db.verifier, poolSize, maxClients: 2000 });
      poolers.push({ name: b.name, p, dir: p.dir });
      continue;
    }
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-compare-'));
    const port = await freePort();
    const target = { host: db.server.host, port: db.server.port, database: db.database, user: db.user, password: db.password };
    const config = {
      listen: { host: '127.0.0.1', port },
      log_level: process.env[`AB_LOG_LEVEL_${b.name.toUpperCase()}`] ?? 'warn',
      limits: { shutdown_timeout: 1 },
      tenants: [{ id: 'bench', database: db.database, user: db.user, verifiers: [db.verifier], target, pool: { mode: 'transaction', size: poolSize, max_clients: 2000, ...JSON.parse(process.env[`AB_POOL_${b.name.toUpperCase()}`] ?? '{}') } }],
    };
    writeFileSync(join(dir, 'switchyard.yaml'), toYaml(config), { mode: 0o600 });
    const p = await startPoolerProcess({
      name: b.name,
      command: b.runtime,
      args: [
        ...(process.env[`AB_NODE_ARGS_${b.name.toUpperCase()}`] ?? '').split(' ').filter(Boolean),
        ...(b.root === '@bare' ? [join(import.meta.dirname, 'bare-login-server.ts')] : [join(b.root, 'bin', 'switchyard.js'), 'pooler']),
        '--config',
        join(dir, 'switchyard.yaml'),
      ],
      cwd: b.root === '@bare' ? import.meta.dirname : b.root,
      outputFile: join(dir, 'output.log'),
      login: { host: '127.0.0.1', port, database: db.database, user: db.user, password: db.password },
      readyTimeoutMs: 20_000,
      openFiles: 3000,
    });
    poolers.push({ name: b.name, p, dir });
  }
  const hz = clockTicksPerSecond();
  if (logins > 0) {
    await compareLogins(poolers, hz);
    process.exit(0);
  }
  for (const { p } of poolers) for (const mode of modes) await runPgbench(p.login, { clients: 20, jobs: 2, durationSec: 2, mode });
  const cells = new Map<string, { tps: number[]; pooler: number[]; server: number[] }>();
  for (const c of clients) {
    for (const mode of modes) {
      for (let r = 0; r < rounds; r++) {
        for (const { name, p } of poolers) {
          const p0 = treeCpuTicks(p.pid);
          const s0 = treeCpuTicks(postmaster);
          const o = await runPgbench(p.login, { clients: c, jobs: 2, durationSec, mode });
          const key = `${name} -c ${c} -M ${mode}`;
          if (!o.ok) {
            process.stderr.write(`${key}: FAILED ${o.error}\n`);
            continue;
          }
          const perTxn = (ticks: number): number => ((ticks / hz) * 1e6) / o.summary.transactions;
          const cell = cells.get(key) ?? { tps: [], pooler: [], server: [] };
          cell.tps.push(o.summary.tps);
          cell.pooler.push(perTxn(treeCpuTicks(p.pid) - p0));
          cell.server.push(perTxn(treeCpuTicks(postmaster) - s0));
          cells.set(key, cell);
          process.stderr.write(`${key}: ${o.summary.tps.toFixed(0)} tps\n`);
        }
      }
    }
  }
  const cell = (v: number[], digits: number): string => `${(median(v) ?? 0).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;
  console.log(`${'build -c -M'.padEnd(30)} ${'tps median (min–max)'.padStart(24)}  ${'pooler CPU µs/txn'.padStart(22)}  ${'PostgreSQL CPU µs/txn'.padStart(22)}`);
  for (const [key, v] of cells) {
    console.log(`${key.padEnd(30)} ${cell(v.tps, 0).padStart(24)}  ${cell(v.pooler, 1).padStart(22)}  ${cell(v.server, 1).padStart(22)}`);
  }
} finally {
  await stopAll();
}

async function compareLogins(list: typeof poolers, hz: number): Promise<void> {
  const loginRound = async (p: PoolerProcess, n: number): Promise<{ us: number; perSec: number }> => {
    let next = 0;
    const t0 = performance.now();
    const ticks0 = treeCpuTicks(p.pid);
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++;
        await rawLoginAndLeave(p.login, 30_000);
      }
    };
    await Promise.all(Array.from({ length: Math.min(loginConcurrency, n) }, worker));
    const ticks = treeCpuTicks(p.pid) - ticks0;
    return { us: ((ticks / hz) * 1e6) / n, perSec: n / ((performance.now() - t0) / 1000) };
  };
  // Warm-up: the JIT, lazily loaded code, the first server connection.
  for (const { p } of list) await loginRound(p, Math.min(logins, 2000));
  const cells = new Map<string, { us: number[]; perSec: number[] }>();
  for (let r = 0; r < rounds; r++) {
    for (const { name, p } of list) {
      const o = await loginRound(p, logins);
      const cell = cells.get(name) ?? { us: [], perSec: [] };
      cell.us.push(o.us);
      cell.perSec.push(o.perSec);
      cells.set(name, cell);
      process.stderr.write(`${name} round ${r + 1}: ${o.us.toFixed(1)} µs/login, ${o.perSec.toFixed(0)} logins/s\n`);
    }
  }
  const cell = (v: number[], digits: number): string => `${(median(v) ?? 0).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;
  // Paired per round against the first build (rounds run back to back): the machine's load, which
  // moves every build's figure between rounds, mostly cancels out of the ratio.
  const first = cells.get(list[0]!.name)!.us;
  console.log(`${'build'.padEnd(16)} ${'pooler CPU µs/login'.padStart(24)}  ${'logins/s'.padStart(22)}  ${`× ${list[0]!.name}, paired`.padStart(24)}`);
  for (const [name, v] of cells) {
    const ratios = v.us.map((us, r) => us / first[r]!);
    console.log(`${name.padEnd(16)} ${cell(v.us, 1).padStart(24)}  ${cell(v.perSec, 0).padStart(22)}  ${cell(ratios, 2).padStart(24)}`);
  }
  await stopAll();
}

async function stopAll(): Promise<void> {
  for (const { p, dir } of poolers.splice(0)) {
    await p.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  await db.server.stop().catch(() => undefined);
}
