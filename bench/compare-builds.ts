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
// off=. pins=.`; AB_NODE_ARGS_<NAME> (space-separated) adds runtime flags for the build named NAME,
// e.g. a V8 flag's cost: `AB_NODE_ARGS_SEMI1='--max-semi-space-size=1' node bench/compare-builds.ts
// base=. semi1=.`; PGOPTIONS reaches pgbench (e.g. `-c search_path=public`: a client with a setting).
// Each cell prints the median and the spread (min–max) of its rounds.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareDatabase } from './database.ts';
import { startPoolerProcess, type PoolerProcess } from './pooler-process.ts';
import { runPgbench } from './pgbench.ts';
import { clockTicksPerSecond, treeCpuTicks } from './proc-stat.ts';
import { median } from './summary.ts';
import { freePort } from '../shared/src/local/postgres-server.ts';
import { toYaml } from '../shared/src/yaml.ts';
import type { ProtocolMode } from './options.ts';

// name=directory[:runtime]: the runtime (default: this Node) runs that build's bin/switchyard.js,
// e.g. `bun=.:/path/to/bun` for the same checkout under Bun.
const builds = process.argv.slice(2).map((arg) => {
  const [name, spec] = arg.split('=');
  const [root, runtime] = (spec ?? '').split(':');
  if (!name || !root) throw new Error(`expected name=directory[:runtime], got "${arg}"`);
  return { name, root: resolve(root), runtime: runtime ? resolve(runtime) : process.execPath };
});
if (builds.length === 0) throw new Error('usage: node bench/compare-builds.ts name=directory [name=directory ...]');
const clients = (process.env.AB_CLIENTS ?? '1,50').split(',').map(Number);
const modes = (process.env.AB_MODES ?? 'simple,prepared').split(',') as ProtocolMode[];
const rounds = Number(process.env.AB_ROUNDS ?? 5);
const durationSec = Number(process.env.AB_DURATION ?? 5);
const poolSize = Number(process.env.AB_POOL ?? 20);

const db = await prepareDatabase({ maxConnections: 200, scale: 1 });
const postmaster = Number(readFileSync(join(db.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const poolers: { name: string; p: PoolerProcess; dir: string }[] = [];
try {
  for (const b of builds) {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-compare-'));
    const port = await freePort();
    const target = { host: db.server.host, port: db.server.port, database: db.database, user: db.user, password: db.password };
    const config = {
      listen: { host: '127.0.0.1', port },
      log_level: 'warn',
      limits: { shutdown_timeout: 1 },
      tenants: [{ id: 'bench', database: db.database, user: db.user, verifiers: [db.verifier], target, pool: { mode: 'transaction', size: poolSize, max_clients: 2000, ...JSON.parse(process.env[`AB_POOL_${b.name.toUpperCase()}`] ?? '{}') } }],
    };
    writeFileSync(join(dir, 'switchyard.yaml'), toYaml(config), { mode: 0o600 });
    const p = await startPoolerProcess({
      name: b.name,
      command: b.runtime,
      args: [...(process.env[`AB_NODE_ARGS_${b.name.toUpperCase()}`] ?? '').split(' ').filter(Boolean), join(b.root, 'bin', 'switchyard.js'), 'pooler', '--config', join(dir, 'switchyard.yaml')],
      cwd: b.root,
      outputFile: join(dir, 'output.log'),
      login: { host: '127.0.0.1', port, database: db.database, user: db.user, password: db.password },
      readyTimeoutMs: 20_000,
      openFiles: 3000,
    });
    poolers.push({ name: b.name, p, dir });
  }
  const hz = clockTicksPerSecond();
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
  for (const { p, dir } of poolers) {
    await p.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  await db.server.stop().catch(() => undefined);
}
