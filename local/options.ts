// Options of `switchyard start`: flags, then SWITCHYARD_* environment variables, then fixed
// defaults. Every listener binds 127.0.0.1 (the pooler's may be moved with --pooler-host).
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../shared/src/usage-error.ts';

export const DEFAULT_PORTS = {
  /** PostgreSQL node a (the first primary). */
  primary: 54320,
  /** PostgreSQL node b (the first standby). */
  standby: 54321,
  api: 8080,
  pooler: 6432,
  metrics: 9127,
} as const;

export type PortName = keyof typeof DEFAULT_PORTS;

export const PORT_FLAGS: Record<PortName, { flag: string; env: string }> = {
  primary: { flag: 'pg-port', env: 'SWITCHYARD_PG_PORT' },
  standby: { flag: 'standby-port', env: 'SWITCHYARD_STANDBY_PORT' },
  api: { flag: 'api-port', env: 'SWITCHYARD_API_PORT' },
  pooler: { flag: 'pooler-port', env: 'SWITCHYARD_POOLER_PORT' },
  metrics: { flag: 'metrics-port', env: 'SWITCHYARD_METRICS_PORT' },
};

export interface StackOptions {
  stateDir: string;
  ports: Record<PortName, number>;
  /** Ports given by flag or environment (as opposed to defaults). */
  explicit: ReadonlySet<PortName>;
  logLevel: string;
  /** The pooler's listen address (the only listener that may leave loopback). */
  poolerHost: string;
}

export const START_USAGE = `usage: switchyard start [options]

Runs the whole system on this machine: a PostgreSQL primary and a streaming standby, the control
API (the Lambda handlers behind a local HTTP server), and the pooler. Ctrl-C stops everything.

options (environment variable in brackets):
  --state-dir DIR      where all state lives [SWITCHYARD_STATE_DIR] (default: .switchyard)
  --pg-port N          PostgreSQL node a [SWITCHYARD_PG_PORT] (default ${DEFAULT_PORTS.primary})
  --standby-port N     PostgreSQL node b [SWITCHYARD_STANDBY_PORT] (default ${DEFAULT_PORTS.standby})
  --api-port N         control API, 127.0.0.1 only [SWITCHYARD_API_PORT] (default ${DEFAULT_PORTS.api})
  --pooler-port N      pooler [SWITCHYARD_POOLER_PORT] (default ${DEFAULT_PORTS.pooler})
  --metrics-port N     pooler metrics/health [SWITCHYARD_METRICS_PORT] (default ${DEFAULT_PORTS.metrics})
  --pooler-host ADDR   the pooler's listen address [SWITCHYARD_POOLER_HOST] (default 127.0.0.1;
                       0.0.0.0 serves other machines — the control API stays on 127.0.0.1)
  --log-level LEVEL    API and pooler log level [SWITCHYARD_LOG_LEVEL] (default info)
`;

function port(raw: string, what: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) throw new UsageError(`${what}: "${raw}" is not a port (1-65535)`);
  return Number(raw);
}

/** The default state directory: `.switchyard/` at the root of the checkout. */
export function defaultStateDir(): string {
  return resolve(import.meta.dirname, '..', '.switchyard');
}

export function parseStartOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): StackOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'state-dir': { type: 'string' },
        'log-level': { type: 'string' },
        'pooler-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.values(PORT_FLAGS).map((p) => [p.flag, { type: 'string' as const }])),
      },
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const ports = { ...DEFAULT_PORTS } as Record<PortName, number>;
  const explicit = new Set<PortName>();
  for (const [name, p] of Object.entries(PORT_FLAGS) as [PortName, { flag: string; env: string }][]) {
    const flag = values[p.flag];
    const fromEnv = env[p.env];
    if (typeof flag === 'string') ports[name] = port(flag, `--${p.flag}`);
    else if (fromEnv) ports[name] = port(fromEnv, p.env);
    else continue;
    explicit.add(name);
  }
  const seen = new Map<number, PortName>();
  for (const [name, n] of Object.entries(ports) as [PortName, number][]) {
    const other = seen.get(n);
    if (other) throw new UsageError(`port ${n} is given for both ${other} and ${name}`);
    seen.set(n, name);
  }
  const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : env.SWITCHYARD_STATE_DIR || defaultStateDir();
  const logLevel = typeof values['log-level'] === 'string' ? values['log-level'] : env.SWITCHYARD_LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new UsageError(`unknown log level "${logLevel}"`);
  const poolerHost = typeof values['pooler-host'] === 'string' ? values['pooler-host'] : env.SWITCHYARD_POOLER_HOST || '127.0.0.1';
  if (isIP(poolerHost) === 0) throw new UsageError(`--pooler-host: "${poolerHost}" is not an IP address`);
  return { stateDir: resolve(stateDir), ports, explicit, logLevel, poolerHost };
}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
