// Command-line flags and environment variables of `npm run bench`. Precedence: flag > env >
// --quick preset > default. `npm run bench -- --help` prints the usage below.
import { parseArgs } from 'node:util';
import { BenchOptionError } from './errors.ts';

export const targets = ['direct', 'pgbouncer', 'switchyard'] as const;
export type Target = (typeof targets)[number];
export const protocolModes = ['simple', 'extended', 'prepared'] as const;
export type ProtocolMode = (typeof protocolModes)[number];
/** A pgbench protocol mode, optionally with TLS between pgbench and the pooler (`sslmode=require`). */
export type RunMode = ProtocolMode | `${ProtocolMode}+tls`;
/** The modes of the TLS rows (`--tls-clients`). */
export const tlsModes: readonly RunMode[] = ['simple+tls', 'extended+tls'];

export function baseMode(mode: RunMode): { mode: ProtocolMode; tls: boolean } {
  const tls = mode.endsWith('+tls');
  return { mode: (tls ? mode.slice(0, -4) : mode) as ProtocolMode, tls };
}

export interface BenchOptions {
  rounds: number;
  /** Seconds per pgbench run (`-T`). */
  durationSec: number;
  /** Seconds of an unmeasured pgbench run per target before the first round (JIT, pools). */
  warmupSec: number;
  clients: number[];
  /** pgbench `-j`; capped at the client count per run. */
  jobs: number;
  modes: ProtocolMode[];
  targets: Target[];
  /** Server connections per pool, the same for PgBouncer and Switchyard. */
  poolSize: number;
  /** Idle logged-in clients for the memory measurement; 0 skips it. */
  idleClients: number;
  /** SCRAM logins for the login-cost measurement; 0 skips it. */
  logins: number;
  /** Client counts for the TLS rows (pgbench → pooler over TLS, simple and extended); empty = none. */
  tlsClients: number[];
  /** pgbench -i scale factor. */
  scale: number;
  resultsDir: string;
  /** Idle clients for the scale test after the table (bench/idle-clients.ts); 0 skips it. */
  manyIdle: number;
  /** Worker scaling after the table (bench/workers.ts `--workers`), e.g. "auto"; undefined skips it. */
  workerScaling: string | undefined;
  quick: boolean;
  help: boolean;
}

export const usage = `Usage: npm run bench -- [options]

pgbench -S (select-only) directly against PostgreSQL, through PgBouncer and through Switchyard,
interleaved over several rounds; prints TPS (median of rounds), Switchyard/PgBouncer ratio, the
poolers' CPU time per transaction and their memory per idle logged-in client.

Options (environment variable in brackets):
  --rounds N            rounds per client count and mode [BENCH_ROUNDS] (default 3)
  --duration S          seconds per pgbench run [BENCH_DURATION] (default 5)
  --warmup S            unmeasured warm-up seconds per target, 0 = none [BENCH_WARMUP] (default 2)
  --clients LIST        client counts, comma-separated [BENCH_CLIENTS] (default 1,50,500)
  --jobs N              pgbench -j [BENCH_JOBS] (default 2)
  --modes LIST          simple,extended,prepared [BENCH_MODES] (default all)
  --targets LIST        direct,pgbouncer,switchyard [BENCH_TARGETS] (default all)
  --pool-size N         server connections per pool for both poolers [BENCH_POOL_SIZE] (default 20)
  --idle-clients N      idle clients for the memory test, 0 = skip [BENCH_IDLE_CLIENTS] (default 1000)
  --logins N            SCRAM logins for the login-cost test, 0 = skip [BENCH_LOGINS] (default 1000)
  --tls-clients LIST    client counts run with TLS toward the poolers, 0 = none [BENCH_TLS_CLIENTS] (default 50)
  --scale N             pgbench -i scale factor [BENCH_SCALE] (default 1)
  --results-dir DIR     where the JSON result goes [BENCH_RESULTS_DIR] (default bench/results)
  --many-idle N         after the table, N idle clients on one pooler process (npm run bench:idle-clients),
                        0 = skip [BENCH_MANY_IDLE] (default 100000; the open-file limit may cap it)
  --worker-scaling W    after the table, throughput per added core (npm run bench:workers -- --workers W),
                        off = skip [BENCH_WORKER_SCALING] (default auto)
  --quick               smoke test: 1 round of 2 s, clients 1,50, 1 s warm-up, 100 idle clients, 100 logins,
                        no scale tests
  --help                this text
`;

const defaults = {
  rounds: 3,
  durationSec: 5,
  warmupSec: 2,
  clients: [1, 50, 500],
  jobs: 2,
  idleClients: 1000,
  logins: 1000,
  tlsClients: [50],
  manyIdle: 100_000,
  workerScaling: 'auto',
} as const;

const quickPreset = {
  rounds: 1,
  durationSec: 2,
  warmupSec: 1,
  clients: [1, 50],
  jobs: 2,
  idleClients: 100,
  logins: 100,
  tlsClients: [50],
  manyIdle: 0,
  workerScaling: 'off',
} as const;

function positiveInt(name: string, raw: string, allowZero = false): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new BenchOptionError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${raw}"`);
  }
  return n;
}

function intList(name: string, raw: string): number[] {
  const list = raw.split(',').map((s) => positiveInt(name, s.trim()));
  if (list.length === 0) throw new BenchOptionError(`${name} is empty`);
  return list;
}

/** A comma-separated list of allowed names, duplicates dropped; an unknown or empty one is refused. */
export function enumList<T extends string>(name: string, raw: string, allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const found = allowed.find((a) => a === item);
    if (!found) throw new BenchOptionError(`${name}: unknown "${item}" (one of ${allowed.join(', ')})`);
    if (!out.includes(found)) out.push(found);
  }
  if (out.length === 0) throw new BenchOptionError(`${name} is empty`);
  return out;
}

export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwdResultsDir: string): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        rounds: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        clients: { type: 'string' },
        jobs: { type: 'string' },
        modes: { type: 'string' },
        targets: { type: 'string' },
        'pool-size': { type: 'string' },
        'idle-clients': { type: 'string' },
        logins: { type: 'string' },
        'tls-clients': { type: 'string' },
        scale: { type: 'string' },
        'results-dir': { type: 'string' },
        'many-idle': { type: 'string' },
        'worker-scaling': { type: 'string' },
        quick: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new BenchOptionError((err as Error).message);
  }
  const quick = values.quick === true || env.BENCH_QUICK === '1';
  const base = quick ? quickPreset : defaults;
  const pick = (flag: string | undefined, envName: string): string | undefined => flag ?? (env[envName] || undefined);

  const rounds = pick(values.rounds, 'BENCH_ROUNDS');
  const duration = pick(values.duration, 'BENCH_DURATION');
  const warmup = pick(values.warmup, 'BENCH_WARMUP');
  const clients = pick(values.clients, 'BENCH_CLIENTS');
  const jobs = pick(values.jobs, 'BENCH_JOBS');
  const modes = pick(values.modes, 'BENCH_MODES');
  const targetList = pick(values.targets, 'BENCH_TARGETS');
  const poolSize = pick(values['pool-size'], 'BENCH_POOL_SIZE');
  const idle = pick(values['idle-clients'], 'BENCH_IDLE_CLIENTS');
  const logins = pick(values.logins, 'BENCH_LOGINS');
  const tlsClients = pick(values['tls-clients'], 'BENCH_TLS_CLIENTS');
  const scale = pick(values.scale, 'BENCH_SCALE');
  const manyIdle = pick(values['many-idle'], 'BENCH_MANY_IDLE');
  const workerScaling = pick(values['worker-scaling'], 'BENCH_WORKER_SCALING') ?? base.workerScaling;
  if (!/^(off|auto|[0-9]{1,2})$/.test(workerScaling)) throw new BenchOptionError(`--worker-scaling must be off, auto or a process count, got "${workerScaling}"`);

  return {
    rounds: rounds ? positiveInt('--rounds', rounds) : base.rounds,
    durationSec: duration ? positiveInt('--duration', duration) : base.durationSec,
    warmupSec: warmup ? positiveInt('--warmup', warmup, true) : base.warmupSec,
    clients: clients ? intList('--clients', clients) : [...base.clients],
    jobs: jobs ? positiveInt('--jobs', jobs) : base.jobs,
    modes: modes ? enumList('--modes', modes, protocolModes) : [...protocolModes],
    targets: targetList ? enumList('--targets', targetList, targets) : [...targets],
    poolSize: poolSize ? positiveInt('--pool-size', poolSize) : 20,
    idleClients: idle ? positiveInt('--idle-clients', idle, true) : base.idleClients,
    logins: logins ? positiveInt('--logins', logins, true) : base.logins,
    tlsClients: tlsClients ? (tlsClients.trim() === '0' ? [] : intList('--tls-clients', tlsClients)) : [...base.tlsClients],
    scale: scale ? positiveInt('--scale', scale) : 1,
    resultsDir: pick(values['results-dir'], 'BENCH_RESULTS_DIR') ?? cwdResultsDir,
    manyIdle: manyIdle ? positiveInt('--many-idle', manyIdle, true) : base.manyIdle,
    workerScaling: workerScaling === 'off' ? undefined : workerScaling,
    quick,
    help: values.help === true,
  };
}
