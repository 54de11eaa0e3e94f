// Flags of the two scale tools: `npm run bench:idle-clients` (idle-clients.ts) and
// `npm run bench:workers` (workers.ts). Pure parsing, unit-tested in scale-options.test.ts.
import { parseArgs } from 'node:util';
import { BenchOptionError } from './errors.ts';
import { enumList } from './options.ts';

/** Ephemeral ports one source address can use toward one destination (ip_local_port_range 32768–60999 ≈ 28,000), with headroom. */
export const clientsPerSourceAddress = 25_000;

export interface IdleClientsOptions {
  clients: number;
  /** Source addresses 127.0.0.2 … 127.0.0.(1+n), clients spread round-robin. */
  sourceAddresses: number;
  /** Logins in flight at once. */
  concurrency: number;
  /** pgbench -S clients of the "nothing else degrades" runs. */
  pgbenchClients: number;
  durationSec: number;
  targets: Array<'pgbouncer' | 'switchyard'>;
  poolSize: number;
}

function int(name: string, raw: string | undefined, fallback: number, min = 1, max = 10_000_000): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new BenchOptionError(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  return n;
}

function list<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T[]): T[] {
  return raw === undefined ? fallback : enumList(name, raw, allowed);
}

function parse(argv: readonly string[], options: Record<string, { type: 'string' }>): Record<string, string | undefined> {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new BenchOptionError((err as Error).message);
  }
}

export function parseIdleClientsOptions(argv: readonly string[]): IdleClientsOptions {
  const v = parse(argv, {
    clients: { type: 'string' },
    'source-addresses': { type: 'string' },
    concurrency: { type: 'string' },
    'pgbench-clients': { type: 'string' },
    duration: { type: 'string' },
    targets: { type: 'string' },
    'pool-size': { type: 'string' },
  });
  const clients = int('--clients', v.clients, 100_000, 1, 1_000_000);
  const needed = Math.ceil(clients / clientsPerSourceAddress);
  // 127.0.0.2 … 127.0.0.254: all on the loopback interface without configuration.
  const sourceAddresses = int('--source-addresses', v['source-addresses'], needed, 1, 253);
  if (sourceAddresses < needed) {
    throw new BenchOptionError(`--source-addresses ${sourceAddresses} gives at most ${sourceAddresses * clientsPerSourceAddress} clients; ${clients} need ${needed}`);
  }
  return {
    clients,
    sourceAddresses,
    concurrency: int('--concurrency', v.concurrency, 64, 1, 10_000),
    pgbenchClients: int('--pgbench-clients', v['pgbench-clients'], 50, 1, 1000),
    durationSec: int('--duration', v.duration, 10, 1, 3600),
    targets: list('--targets', v.targets, ['pgbouncer', 'switchyard'] as const, ['pgbouncer', 'switchyard']),
    poolSize: int('--pool-size', v['pool-size'], 20, 1, 1000),
  };
}

export const workerTargets = ['pgbouncer', 'pgbouncer-reuseport', 'switchyard', 'switchyard-workers'] as const;
export type WorkerTarget = (typeof workerTargets)[number];

export interface WorkersOptions {
  /** Processes of the multi-process targets (Switchyard `--workers N`, N PgBouncers on one port). */
  processes: number;
  clients: number[];
  rounds: number;
  durationSec: number;
  /** Server connections per pool for the whole machine (split over the processes). */
  poolSize: number;
  targets: WorkerTarget[];
}

export function parseWorkersOptions(argv: readonly string[], cores: number): WorkersOptions {
  const v = parse(argv, {
    workers: { type: 'string' },
    clients: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    'pool-size': { type: 'string' },
    targets: { type: 'string' },
  });
  const processes = v.workers === undefined || v.workers === 'auto' ? Math.max(2, cores) : int('--workers', v.workers, 2, 2, 64);
  const clients = v.clients === undefined ? [50, 200] : v.clients.split(',').map((c) => int('--clients', c.trim(), 0, 1, 5000));
  return {
    processes,
    clients,
    rounds: int('--rounds', v.rounds, 3, 1, 100),
    durationSec: int('--duration', v.duration, 5, 1, 3600),
    poolSize: int('--pool-size', v['pool-size'], 40, 1, 1000),
    targets: list('--targets', v.targets, workerTargets, [...workerTargets]),
  };
}
