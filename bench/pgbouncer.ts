// PgBouncer as the reference pooler: Debian's package (1.18 on bookworm), installed on demand,
// configured like the Switchyard tenant: SCRAM client auth against the same stored verifier,
// transaction pooling, the same pool size. Config reference: https://www.pgbouncer.org/config.html
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run } from '../shared/src/local/postgres-server.ts';
import { chownToUnprivileged, isRoot, unprivilegedIds } from './os-user.ts';
import { startPoolerProcess, type PoolerProcess } from './pooler-process.ts';

const candidates = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

function findPgbouncer(): string | undefined {
  for (const c of candidates) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The pgbouncer binary, installing Debian's package when missing and we are root. */
export async function ensurePgbouncer(log: (msg: string) => void): Promise<{ path: string } | { error: string }> {
  const found = findPgbouncer();
  if (found) return { path: found };
  if (!isRoot) return { error: 'pgbouncer is not installed (apt-get install pgbouncer) and we are not root' };
  log('installing pgbouncer with apt-get…');
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  let res = await run('apt-get', ['install', '-y', '-qq', 'pgbouncer'], { env });
  if (res.code !== 0) {
    await run('apt-get', ['update', '-qq'], { env });
    res = await run('apt-get', ['install', '-y', '-qq', 'pgbouncer'], { env });
  }
  if (res.code !== 0) return { error: `apt-get install pgbouncer failed: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  // The package enables a system service on port 6432 where an init system runs; we start our own.
  await run('sh', ['-c', 'systemctl stop pgbouncer 2>/dev/null || service pgbouncer stop 2>/dev/null || true']);
  const path = findPgbouncer();
  return path ? { path } : { error: 'pgbouncer still not found after apt-get install' };
}

export function pgbouncerVersion(path: string): string {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '';
  } catch {
    return '';
  }
}

/**
 * Whether this PgBouncer can serve `pgbench -M prepared` in transaction mode: protocol-level
 * prepared statements arrived in 1.21 (max_prepared_statements); 1.18 (Debian 12) cannot.
 */
export function supportsPreparedStatements(versionLine: string): boolean {
  const m = /(\d+)\.(\d+)/.exec(versionLine);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 1 || (major === 1 && minor >= 21);
}

export interface PgbouncerSpec {
  binary: string;
  server: { host: string; port: number };
  database: string;
  user: string;
  password: string;
  /** pg_authid.rolpassword of the user: PgBouncer verifies client SCRAM logins against it. */
  verifier: string;
  poolSize: number;
  maxClients: number;
  /** PgBouncer ≥ 1.21 only: protocol-level prepared statements in transaction mode. */
  maxPreparedStatements?: number;
  /** TLS toward clients allowed (client_tls_sslmode = allow) with this certificate. */
  tls?: { certFile: string; keyFile: string };
  /** Listen on this port instead of a free one (a second `so_reuseport` instance joins the first). */
  port?: number;
  /** `so_reuseport = 1` (PgBouncer ≥ 1.12): several processes share one port, the kernel spreads connections. */
  soReuseport?: boolean;
  /** pool_mode; default transaction. Session with poolSize ≥ clients is a 1:1 pass-through (bench/native). */
  poolMode?: 'session' | 'transaction';
}

/** Values in pgbouncer.ini connection strings and auth_file are double/single quoted; ours are plain. */
function quoteConnValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function startPgbouncer(spec: PgbouncerSpec): Promise<PoolerProcess & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-pgbouncer-'));
  chmodSync(dir, 0o700);
  chownToUnprivileged(dir);
  const port = spec.port ?? (await freePort());
  const authFile = join(dir, 'userlist.txt');
  writeFileSync(authFile, `"${spec.user}" "${spec.verifier}"\n`, { mode: 0o600 });
  chownToUnprivileged(authFile);
  const logFile = join(dir, 'pgbouncer.log');
  writeFileSync(logFile, '');
  chownToUnprivileged(logFile);
  const ini = [
    '[databases]',
    // The password here is what PgBouncer uses to log in to PostgreSQL (server side).
    `${spec.database} = host=${spec.server.host} port=${spec.server.port} dbname=${spec.database} user=${spec.user} password=${quoteConnValue(spec.password)}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    "unix_socket_dir = ''",
    'auth_type = scram-sha-256',
    `auth_file = ${authFile}`,
    `pool_mode = ${spec.poolMode ?? 'transaction'}`,
    `default_pool_size = ${spec.poolSize}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    `max_client_conn = ${spec.maxClients}`,
    `logfile = ${logFile}`,
    // No per-connection log lines: Switchyard runs at log_level warn, so neither logs each login.
    'log_connections = 0',
    'log_disconnections = 0',
    'log_pooler_errors = 1',
    'ignore_startup_parameters = extra_float_digits',
    ...(spec.soReuseport ? ['so_reuseport = 1'] : []),
    ...(spec.maxPreparedStatements ? [`max_prepared_statements = ${spec.maxPreparedStatements}`] : []),
    ...(spec.tls ? ['client_tls_sslmode = allow', `client_tls_cert_file = ${spec.tls.certFile}`, `client_tls_key_file = ${spec.tls.keyFile}`] : []),
    '',
  ].join('\n');
  const iniFile = join(dir, 'pgbouncer.ini');
  writeFileSync(iniFile, ini, { mode: 0o600 });
  chownToUnprivileged(iniFile);
  const runAs = unprivilegedIds();
  let proc: PoolerProcess;
  try {
    proc = await startPoolerProcess({
      name: 'pgbouncer',
      command: spec.binary,
      args: [iniFile],
      cwd: dir,
      ...(runAs ? { runAs } : {}),
      outputFile: join(dir, 'stdout.log'),
      extraLogFiles: [logFile],
      login: { host: '127.0.0.1', port, database: spec.database, user: spec.user, password: spec.password },
      readyTimeoutMs: 15_000,
      openFiles: spec.maxClients + spec.poolSize + 100,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...proc,
    dir,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
