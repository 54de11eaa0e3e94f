// `npm run bench:idle-clients -- --clients 100000`: N idle authenticated clients on one pooler
// process, PgBouncer and Switchyard in the same run (bench/README.md "100,000 idle clients").
// Per target: pgbench -S (50 clients) without idle clients; N SCRAM logins from 127.0.0.2…
// (one source address per 25,000 clients: a source address has ≈ 28,000 ephemeral ports toward
// one destination), with the login rate and the pooler's CPU per login; RSS before/after; the same
// pgbench run with the N clients idle; then every socket is closed and the pooler stopped.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { prepareDatabase } from './database.ts';
import { loadAverage } from './environment.ts';
import { BenchOptionError } from './errors.ts';
import { ownOpenFileLimit, withOpenFiles } from './open-files.ts';
import { ensurePgbouncer, startPgbouncer } from './pgbouncer.ts';
import { runPgbench } from './pgbench.ts';
import type { PoolerProcess } from './pooler-process.ts';
import { clockTicksPerSecond, machineBusyTicks, treeCpuTicks, treeRssKb } from './proc-stat.ts';
import { rawLogin } from './raw-client.ts';
import { parseIdleClientsOptions, type IdleClientsOptions } from './scale-options.ts';
import { startSwitchyard } from './switchyard.ts';

const log = (msg: string): void => void process.stderr.write(`idle-clients: ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hz = clockTicksPerSecond();

interface PgbenchFigures {
  tps?: number;
  poolerCpuUsPerTx?: number;
  machineCpuUsPerTx?: number;
  error?: string;
}

interface TargetResult {
  target: string;
  requested: number;
  connected: number;
  error?: string;
  loginsPerSec?: number;
  poolerCpuUsPerLogin?: number;
  rssBeforeKb?: number;
  rssAfterKb?: number;
  perClientKb?: number;
  /** Pooler CPU per second while the N clients are idle (keep-alive timers, GC). */
  idleCpuPercent?: number;
  without?: PgbenchFigures;
  with?: PgbenchFigures;
}

async function pgbench(pooler: PoolerProcess, opts: IdleClientsOptions): Promise<PgbenchFigures> {
  const t0 = treeCpuTicks(pooler.pid);
  const m0 = machineBusyTicks();
  const out = await runPgbench(pooler.login, { clients: opts.pgbenchClients, jobs: 2, durationSec: opts.durationSec, mode: 'simple' });
  const ticks = treeCpuTicks(pooler.pid) - t0;
  const machine = machineBusyTicks() - m0;
  if (!out.ok) return { error: out.error };
  const tx = out.summary.transactions;
  return { tps: out.summary.tps, poolerCpuUsPerTx: ((ticks / hz) * 1e6) / tx, machineCpuUsPerTx: ((machine / hz) * 1e6) / tx };
}

async function openIdle(pooler: PoolerProcess, opts: IdleClientsOptions, r: TargetResult): Promise<Socket[]> {
  const sockets: Socket[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  let lap = t0;
  const ticks0 = treeCpuTicks(pooler.pid);
  const worker = async (): Promise<void> => {
    while (next < opts.clients && failures < 100) {
      const i = next++;
      const source = `127.0.0.${2 + (i % opts.sourceAddresses)}`;
      try {
        sockets.push(await rawLogin(pooler.login, source, 60_000));
        if (sockets.length % 5_000 === 0) {
          const now = performance.now();
          log(`${pooler.name}: ${sockets.length} idle, RSS ${(treeRssKb(pooler.pid) / 1024).toFixed(0)} MiB, last 5,000 at ${(5_000 / ((now - lap) / 1000)).toFixed(0)} logins/s`);
          lap = now;
        }
      } catch (err) {
        failures++;
        r.error ??= `after ${sockets.length} clients: ${(err as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const sec = (performance.now() - t0) / 1000;
  const ticks = treeCpuTicks(pooler.pid) - ticks0;
  r.connected = sockets.length;
  if (sockets.length > 0) {
    r.loginsPerSec = sockets.length / sec;
    r.poolerCpuUsPerLogin = ((ticks / hz) * 1e6) / sockets.length;
  }
  return sockets;
}

async function measure(pooler: PoolerProcess, opts: IdleClientsOptions): Promise<TargetResult> {
  const r: TargetResult = { target: pooler.name, requested: opts.clients, connected: 0 };
  // Unmeasured warm-up: JIT and the server connections are not what the comparison is about.
  await runPgbench(pooler.login, { clients: opts.pgbenchClients, jobs: 2, durationSec: 2, mode: 'simple' });
  r.without = await pgbench(pooler, opts);
  log(`${pooler.name}: pgbench without idle clients ${r.without.tps?.toFixed(0) ?? r.without.error} tps`);
  await sleep(2000);
  r.rssBeforeKb = treeRssKb(pooler.pid);
  const sockets = await openIdle(pooler, opts, r);
  try {
    await sleep(3000);
    r.rssAfterKb = treeRssKb(pooler.pid);
    if (r.connected > 0) r.perClientKb = (r.rssAfterKb - r.rssBeforeKb) / r.connected;
    const i0 = treeCpuTicks(pooler.pid);
    await sleep(5000);
    r.idleCpuPercent = ((treeCpuTicks(pooler.pid) - i0) / hz / 5) * 100;
    r.with = await pgbench(pooler, opts);
    log(`${pooler.name}: pgbench with ${r.connected} idle clients ${r.with.tps?.toFixed(0) ?? r.with.error} tps`);
    const alive = sockets.filter((s) => !s.destroyed).length;
    if (alive < r.connected) r.error ??= `${r.connected - alive} idle clients were disconnected during the test`;
  } finally {
    for (const s of sockets) s.destroy();
  }
  return r;
}

function table(results: readonly TargetResult[], opts: IdleClientsOptions): string {
  const f = (n: number | undefined, d = 0): string => (n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines = [
    `| target | idle clients | logins/s | pooler µs/login | RSS before MiB | RSS after MiB | KiB/client | idle CPU % | tps -c ${opts.pgbenchClients} without → with | pooler µs/tx without → with | machine µs/tx without → with |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.target} | ${f(r.connected)} / ${f(r.requested)} | ${f(r.loginsPerSec)} | ${f(r.poolerCpuUsPerLogin)} | ${f((r.rssBeforeKb ?? NaN) / 1024)} | ${f((r.rssAfterKb ?? NaN) / 1024)} | ${f(r.perClientKb, 2)} | ${f(r.idleCpuPercent, 1)} | ${f(r.without?.tps)} → ${f(r.with?.tps)} | ${f(r.without?.poolerCpuUsPerTx, 1)} → ${f(r.with?.poolerCpuUsPerTx, 1)} | ${f(r.without?.machineCpuUsPerTx, 1)} → ${f(r.with?.machineCpuUsPerTx, 1)} |`,
    );
  }
  for (const r of results) {
    if (r.error) lines.push('', `${r.target}: ${r.error}`);
    if (r.without?.error) lines.push('', `${r.target}, pgbench without idle clients: ${r.without.error}`);
    if (r.with?.error) lines.push('', `${r.target}, pgbench with idle clients: ${r.with.error}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseIdleClientsOptions(process.argv.slice(2));
  // This process holds every client socket and the pooler one descriptor per client: both need
  // more than N descriptors. Node raises its soft limit to the hard one at start-up; above the
  // hard limit only a process with CAP_SYS_RESOURCE can go (open-files.ts). Without it, measure
  // the largest count that fits and say why.
  const slack = opts.pgbenchClients + opts.poolSize + 400;
  const needed = opts.clients + slack;
  const limit = ownOpenFileLimit();
  let limitNote: string | undefined;
  if (limit && limit.soft < needed) {
    const canRaise = process.env.IDLE_CLIENTS_REEXEC !== '1' && spawnSync('sh', ['-c', `ulimit -n ${needed}`]).status === 0;
    if (canRaise) {
      const cmd = withOpenFiles({ command: process.execPath, args: process.argv.slice(1) }, needed);
      const res = spawnSync(cmd.command, cmd.args, { stdio: 'inherit', env: { ...process.env, IDLE_CLIENTS_REEXEC: '1' } });
      process.exit(res.status ?? 1);
    }
    const fits = limit.soft - slack;
    if (fits < 1) throw new BenchOptionError(`open-file limit ${limit.soft} leaves no room for idle clients`);
    limitNote = `${opts.clients} clients need ${needed} open files per process; the hard limit is ${limit.hard} and cannot be raised here (no CAP_SYS_RESOURCE: ulimit -n ${needed} fails): measuring ${fits}`;
    log(limitNote);
    opts.clients = fits;
  }
  log(`load average ${loadAverage().join(' ')}; ${opts.clients} clients from ${opts.sourceAddresses} source addresses`);
  const db = await prepareDatabase({ maxConnections: opts.poolSize * 2 + 20, scale: 1 });
  const results: TargetResult[] = [];
  // SIGINT/SIGTERM mid-run: stop the pooler and PostgreSQL (the client sockets go with this process).
  let current: PoolerProcess | undefined;
  const onSignal = (): void => {
    log('interrupted: stopping the pooler and PostgreSQL');
    void (async () => {
      await current?.stop().catch(() => {});
      await db.server.stop().catch(() => {});
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const common = {
      server: { host: db.server.host, port: db.server.port },
      database: db.database,
      user: db.user,
      password: db.password,
      verifier: db.verifier,
      poolSize: opts.poolSize,
      maxClients: opts.clients + opts.pgbenchClients + 100,
    };
    for (const target of opts.targets) {
      let pooler: PoolerProcess | undefined;
      try {
        if (target === 'pgbouncer') {
          const bin = await ensurePgbouncer(log);
          if ('error' in bin) throw new Error(bin.error);
          pooler = await startPgbouncer({ ...common, binary: bin.path });
        } else {
          pooler = await startSwitchyard({ ...common, limits: { maxClientConn: common.maxClients, maxUnauthenticatedPerAddress: opts.concurrency * 2 } });
        }
        current = pooler;
        log(`${target} pid ${pooler.pid}`);
        results.push(await measure(pooler, opts));
      } catch (err) {
        results.push({ target, requested: opts.clients, connected: 0, error: (err as Error).message });
      } finally {
        await pooler?.stop().catch(() => {});
      }
    }
  } finally {
    await db.server.stop().catch(() => {});
  }
  const out = table(results, opts);
  process.stdout.write(`${limitNote ? `${limitNote}\n\n` : ''}${out}\n`);
  const dir = resolve(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `idle-clients-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options: opts, limitNote, loadAverage: loadAverage(), results }, null, 2));
  log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`idle-clients: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof BenchOptionError ? 2 : 1);
});
