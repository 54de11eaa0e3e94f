// `npm run bench`: pgbench -S directly against PostgreSQL, through PgBouncer and through
// Switchyard, interleaved round by round so that drift on this shared machine (other builds,
// thermal, page cache) hits every target alike. Prints the tables on stdout, progress on stderr,
// and writes everything to bench/results/<timestamp>.json. Method: bench/README.md.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { prepareDatabase, type BenchDatabase } from './database.ts';
import { describeEnvironment, loadAverage } from './environment.ts';
import { BenchOptionError } from './errors.ts';
import { measureIdleMemory } from './idle-memory.ts';
import { measureLogins, type LoginResult } from './logins.ts';
import { ownOpenFileLimit } from './open-files.ts';
import { baseMode, parseOptions, tlsModes, usage, type BenchOptions, type RunMode, type Target } from './options.ts';
import { ensurePgbouncer, pgbouncerVersion, startPgbouncer, supportsPreparedStatements } from './pgbouncer.ts';
import { runPgbench } from './pgbench.ts';
import type { ClientLogin, PoolerProcess } from './pooler-process.ts';
import { childCount, clockTicksPerSecond, machineBusyTicks, reapedChildrenTicks, treeCpuTicks } from './proc-stat.ts';
import { formatFailures, formatLoginTable, formatMemoryTable, formatProcessCpuTable, formatTpsTable, type IdleMemoryResult } from './report.ts';
import { startSwitchyard } from './switchyard.ts';
import { makeBenchCert, type BenchCert } from './tls.ts';
import { cpuUsPerTransaction, summarise, type RunRecord } from './summary.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const order: readonly Target[] = ['direct', 'pgbouncer', 'switchyard'];
type PoolerTarget = 'pgbouncer' | 'switchyard';

const log = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};

class Bench {
  readonly opts: BenchOptions;
  readonly ticksPerSecond = clockTicksPerSecond();
  db: BenchDatabase | undefined;
  readonly poolers: Partial<Record<PoolerTarget, PoolerProcess>> = {};
  /** Targets that cannot run at all (did not start, crashed), with the reason. */
  readonly unavailable = new Map<Target, string>();
  pgbouncerVersion = '';
  pgbouncerPrepared = false;
  readonly runs: RunRecord[] = [];
  readonly idleMemory: IdleMemoryResult[] = [];
  readonly logins: LoginResult[] = [];
  /** The postmaster's pid: its process tree is every PostgreSQL backend. */
  postmaster = 0;

  constructor(opts: BenchOptions) {
    this.opts = opts;
  }

  excluded(target: Target, mode: RunMode): { status: 'n/a' | 'unavailable'; note: string } | undefined {
    const why = this.unavailable.get(target);
    if (why) return { status: 'unavailable', note: why };
    if (target === 'direct' && baseMode(mode).tls) return { status: 'n/a', note: "the bench's PostgreSQL has no TLS: the TLS rows compare the poolers" };
    if (target === 'pgbouncer' && baseMode(mode).mode === 'prepared' && !this.pgbouncerPrepared) {
      return { status: 'n/a', note: `${this.pgbouncerVersion || 'this PgBouncer'} cannot do protocol-level prepared statements in transaction mode (needs 1.21+)` };
    }
    return undefined;
  }

  login(target: Target): ClientLogin | undefined {
    if (target === 'direct') {
      const db = this.db;
      return db ? { host: db.server.host, port: db.server.port, database: db.database, user: db.user, password: db.password } : undefined;
    }
    return this.poolers[target]?.login;
  }

  /** The certificate both poolers present in the TLS rows. */
  cert: BenchCert | undefined;

  async startPoolers(): Promise<void> {
    const db = this.db;
    if (!db) return;
    if (this.opts.tlsClients.length > 0) this.cert = makeBenchCert();
    const tls = this.cert ? { tls: { certFile: this.cert.certFile, keyFile: this.cert.keyFile } } : {};
    const common = {
      ...tls,
      server: { host: db.server.host, port: db.server.port },
      database: db.database,
      user: db.user,
      password: db.password,
      verifier: db.verifier,
      poolSize: this.opts.poolSize,
      maxClients: Math.max(2000, this.opts.idleClients + 100, ...this.opts.clients.map((c) => c + 100)),
    };
    if (this.opts.targets.includes('pgbouncer')) {
      const bin = await ensurePgbouncer(log);
      if ('error' in bin) {
        this.markUnavailable('pgbouncer', bin.error);
      } else {
        this.pgbouncerVersion = pgbouncerVersion(bin.path);
        this.pgbouncerPrepared = supportsPreparedStatements(this.pgbouncerVersion);
        try {
          this.poolers.pgbouncer = await startPgbouncer({ ...common, binary: bin.path, ...(this.pgbouncerPrepared ? { maxPreparedStatements: 100 } : {}) });
          log(`pgbouncer (${this.pgbouncerVersion}) pid ${this.poolers.pgbouncer.pid} on port ${this.poolers.pgbouncer.login.port}`);
        } catch (err) {
          this.markUnavailable('pgbouncer', (err as Error).message);
        }
      }
    }
    if (this.opts.targets.includes('switchyard')) {
      try {
        this.poolers.switchyard = await startSwitchyard(common);
        log(`switchyard pid ${this.poolers.switchyard.pid} on port ${this.poolers.switchyard.login.port}`);
      } catch (err) {
        this.markUnavailable('switchyard', (err as Error).message);
      }
    }
  }

  markUnavailable(target: Target, reason: string): void {
    this.unavailable.set(target, reason.split('\n')[0] ?? reason);
    log(`*** ${target} is UNAVAILABLE — continuing without it ***\n${reason}`);
  }

  async measureMemory(): Promise<void> {
    if (this.opts.idleClients <= 0) return;
    for (const target of ['pgbouncer', 'switchyard'] as const) {
      const pooler = this.poolers[target];
      if (!pooler) continue;
      log(`memory: ${this.opts.idleClients} idle clients on ${target}…`);
      const result = await measureIdleMemory(pooler, this.opts.idleClients, target);
      this.idleMemory.push(result);
      if (result.error) log(`memory: ${target}: ${result.error}`);
      this.checkAlive(target, 'the idle-client memory test');
    }
  }

  async measureLogins(): Promise<void> {
    if (this.opts.logins <= 0) return;
    for (const target of ['pgbouncer', 'switchyard'] as const) {
      const pooler = this.poolers[target];
      if (!pooler) continue;
      log(`logins: ${this.opts.logins} SCRAM logins on ${target}…`);
      const r = await measureLogins(pooler, this.opts.logins);
      this.logins.push(r);
      if (r.error) log(`logins: ${target}: ${r.error}`);
      this.checkAlive(target, 'the login test');
    }
  }

  /**
   * Waits (≤ 10 s) until the backends of a run that connected directly have exited and been
   * reaped, so their CPU lands in this run's PostgreSQL figure, not in the next target's.
   */
  async settleBackends(expected: number): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (this.postmaster > 0 && childCount(this.postmaster) > expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** A pooler that died is reported once and left out of the remaining runs. */
  checkAlive(target: Target, during: string): void {
    if (target === 'direct') return;
    const pooler = this.poolers[target];
    const exit = pooler?.exit();
    if (!pooler || !exit || this.unavailable.has(target)) return;
    this.markUnavailable(target, `${target} exited (code ${exit.code}, signal ${exit.signal}) during ${during}; logs: ${pooler.logFiles.join(', ')}`);
  }

  async runOne(target: Target, clients: number, mode: RunMode, durationSec: number, round: number): Promise<RunRecord | undefined> {
    const login = this.login(target);
    if (!login) return undefined;
    const pooler = target === 'direct' ? undefined : this.poolers[target];
    const started = performance.now();
    const load1 = loadAverage()[0] ?? 0;
    const backendsBefore = this.postmaster > 0 ? childCount(this.postmaster) : 0;
    const ticksBefore = pooler ? treeCpuTicks(pooler.pid) : 0;
    const clientBefore = reapedChildrenTicks();
    const serverBefore = this.postmaster > 0 ? treeCpuTicks(this.postmaster) : 0;
    const machineBefore = machineBusyTicks();
    const outcome = await runPgbench(login, { clients, jobs: this.opts.jobs, durationSec, mode });
    const ticks = pooler ? treeCpuTicks(pooler.pid) - ticksBefore : undefined;
    const clientTicks = reapedChildrenTicks() - clientBefore;
    await this.settleBackends(backendsBefore);
    const serverTicks = this.postmaster > 0 ? treeCpuTicks(this.postmaster) - serverBefore : undefined;
    const machineTicks = machineBusyTicks() - machineBefore;
    const record: RunRecord = { target, clients, mode, round, ok: outcome.ok, wallSec: (performance.now() - started) / 1000, load1 };
    const s = outcome.summary;
    if (s) {
      record.tps = s.tps;
      record.transactions = s.transactions;
      record.failed = s.failed;
      if (s.latencyMs !== undefined) record.latencyMs = s.latencyMs;
      if (s.connectionMs !== undefined) record.connectionMs = s.connectionMs;
      if (ticks !== undefined) {
        record.cpuTicks = ticks;
        const us = cpuUsPerTransaction(ticks, this.ticksPerSecond, s.transactions);
        if (us !== undefined) record.cpuUsPerTxn = us;
      }
      const perTxn = (t: number | undefined): number | undefined => (t === undefined ? undefined : cpuUsPerTransaction(t, this.ticksPerSecond, s.transactions));
      const client = perTxn(clientTicks);
      const server = perTxn(serverTicks);
      const machine = perTxn(machineTicks);
      if (client !== undefined) record.clientUsPerTxn = client;
      if (server !== undefined) record.serverUsPerTxn = server;
      if (machine !== undefined) record.machineUsPerTxn = machine;
    }
    if (!outcome.ok) record.error = outcome.error;
    this.checkAlive(target, `pgbench -c ${clients} -M ${mode}`);
    return record;
  }

  async warmUp(): Promise<void> {
    if (this.opts.warmupSec <= 0) return;
    const clients = Math.min(50, Math.max(...this.opts.clients));
    for (const mode of [...this.opts.modes, ...(this.opts.tlsClients.length > 0 ? tlsModes : [])]) {
      for (const target of order) {
        if (!this.opts.targets.includes(target) || this.excluded(target, mode)) continue;
        log(`warm-up: ${target} -M ${mode} -c ${clients} for ${this.opts.warmupSec} s`);
        const r = await this.runOne(target, clients, mode, this.opts.warmupSec, 0);
        if (r && !r.ok) log(`warm-up: ${target} -M ${mode} failed: ${r.error}`);
      }
    }
  }

  /** [clients, mode] of every row: the plain matrix, then the TLS rows. */
  cells(): [number, RunMode][] {
    const out: [number, RunMode][] = [];
    for (const c of this.opts.clients) for (const mode of this.opts.modes) out.push([c, mode]);
    for (const c of this.opts.tlsClients) for (const mode of tlsModes) out.push([c, mode]);
    return out;
  }

  async matrix(): Promise<void> {
    const { rounds, targets, durationSec } = this.opts;
    const cells = this.cells();
    const total = cells.length * rounds * targets.length;
    let n = 0;
    for (const [c, mode] of cells) {
      {
        for (let round = 1; round <= rounds; round++) {
          for (const target of order) {
            if (!targets.includes(target)) continue;
            n++;
            if (this.excluded(target, mode)) continue;
            const r = await this.runOne(target, c, mode, durationSec, round);
            if (!r) continue;
            this.runs.push(r);
            const cpu = r.cpuUsPerTxn === undefined ? '' : `, ${r.cpuUsPerTxn.toFixed(1)} µs CPU/txn`;
            const result = r.ok ? `${(r.tps ?? 0).toFixed(0)} tps${cpu}` : `FAILED: ${r.error}`;
            log(`[${n}/${total}] -c ${c} -M ${mode} round ${round} ${target}: ${result}`);
          }
        }
      }
    }
  }

  async stopAll(): Promise<void> {
    for (const p of Object.values(this.poolers)) await p.stop().catch((err: unknown) => log(`stopping ${p.name}: ${String(err)}`));
    await this.db?.server.stop().catch((err: unknown) => log(`stopping PostgreSQL: ${String(err)}`));
    this.db = undefined;
    this.cert?.remove();
    this.cert = undefined;
  }
}

function header(opts: BenchOptions, b: Bench): string {
  return [
    `pgbench -S -n -j ${opts.jobs}, ${opts.durationSec} s per run, ${opts.rounds} round(s) interleaved [${order.filter((t) => opts.targets.includes(t)).join(', ')}], median of rounds`,
    `pool size ${opts.poolSize} (transaction mode) for both poolers; CPU = pooler process tree utime+stime / transactions (CLK_TCK ${b.ticksPerSecond})`,
  ].join('\n');
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2), process.env, join(repoRoot, 'bench', 'results'));
  } catch (err) {
    if (err instanceof BenchOptionError) {
      process.stderr.write(`${err.message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(usage);
    return 0;
  }
  const needFiles = Math.max(opts.idleClients, ...opts.clients) + 200;
  const limit = ownOpenFileLimit();
  if (limit && limit.hard < needFiles) log(`warning: open-file limit ${limit.soft}/${limit.hard} < ${needFiles}; children are raised when root, the bench itself may run short`);

  const b = new Bench(opts);
  const startedAt = new Date();
  const env = describeEnvironment(repoRoot);
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: stopping the poolers and PostgreSQL…');
    scaleChild?.kill('SIGTERM');
    void b.stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const maxConnections = Math.max(600, Math.max(...opts.clients) + 100);
    log(`starting PostgreSQL (max_connections ${maxConnections}) and pgbench -i -s ${opts.scale}…`);
    b.db = await prepareDatabase({ maxConnections, scale: opts.scale });
    log(`PostgreSQL ${b.db.server.version} on port ${b.db.server.port}`);
    b.postmaster = Number(readFileSync(join(b.db.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    await b.startPoolers();
    // Memory first, on freshly started poolers (see idle-memory.ts).
    await b.measureMemory();
    await b.measureLogins();
    await b.warmUp();
    await b.matrix();
    const finishedAt = new Date();

    const excluded = (t: Target, m: RunMode): ReturnType<Bench['excluded']> => b.excluded(t, m);
    const rows = [...summarise(b.runs, opts.clients, opts.modes, opts.targets, excluded), ...summarise(b.runs, opts.tlsClients, tlsModes, opts.targets, excluded)];
    const environment = env.finish(b.db.server.version, b.pgbouncerVersion);
    const out: string[] = ['', header(opts, b), '', formatTpsTable(rows)];
    if (opts.targets.includes('pgbouncer') && opts.targets.includes('switchyard')) {
      out.push('', 'CPU per transaction, µs, PgBouncer → Switchyard (ratio): the machine (/proc/stat), each pooler, pgbench (with its logins), PostgreSQL (every backend):', '', formatProcessCpuTable(rows));
    }
    const loads = b.runs.flatMap((r) => (r.load1 === undefined ? [] : [r.load1]));
    // Neighbours on a shared machine move TPS much more than CPU per transaction: say how busy it was.
    if (loads.length > 0) out.push('', `machine load (1-min average) during the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${environment.cpuCount} CPUs`);
    const failures = formatFailures(rows);
    if (failures.length > 0) out.push('', 'failures:', ...failures.map((f) => `  ${f}`));
    for (const [target, why] of b.unavailable) out.push('', `${target}: unavailable — ${why}`);
    if (b.idleMemory.length > 0) out.push('', `memory per idle logged-in client ((VmRSS after − before) / clients):`, '', formatMemoryTable(b.idleMemory));
    if (b.logins.length > 0) out.push('', `SCRAM logins (stored verifiers; connect, authenticate, leave; 16 at a time):`, '', formatLoginTable(b.logins));

    mkdirSync(opts.resultsDir, { recursive: true });
    const file = join(opts.resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const json = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      options: { ...opts, help: undefined },
      environment,
      clockTicksPerSecond: b.ticksPerSecond,
      unavailable: Object.fromEntries(b.unavailable),
      summary: rows,
      idleMemory: b.idleMemory,
      logins: b.logins,
      runs: b.runs,
    };
    writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
    out.push('', `results: ${relative(process.cwd(), file) || file}`, '');
    process.stdout.write(out.join('\n'));
  } finally {
    if (!interrupted) await b.stopAll();
  }
  return runScaleTests(opts);
}

/**
 * The scale tests, each its own program with its own PostgreSQL and poolers (started after this
 * run's are stopped, so they measure an otherwise idle pooler): many idle clients on one process,
 * then throughput per added core. Their tables go to stdout after the main one.
 */
/** The scale test running now: an interrupted bench stops it too (it stops its own poolers and PostgreSQL). */
let scaleChild: ReturnType<typeof spawn> | undefined;

async function runScaleTests(opts: BenchOptions): Promise<number> {
  const runs: Array<[string, string[]]> = [];
  if (opts.manyIdle > 0) runs.push(['idle-clients.ts', ['--clients', String(opts.manyIdle)]]);
  if (opts.workerScaling !== undefined) runs.push(['workers.ts', ['--workers', opts.workerScaling]]);
  let code = 0;
  for (const [script, args] of runs) {
    log(`scale test: node bench/${script} ${args.join(' ')}`);
    const child = spawn(process.execPath, [join(repoRoot, 'bench', script), ...args], { stdio: 'inherit' });
    scaleChild = child;
    const exit = await new Promise<number>((resolve) => child.on('close', (c, signal) => resolve(c ?? (signal === null ? 1 : 128))));
    scaleChild = undefined;
    if (exit !== 0) {
      log(`scale test ${script} failed (exit ${exit})`);
      code = 1;
    }
  }
  return code;
}

process.exitCode = await main();
