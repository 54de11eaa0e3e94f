// Starts and stops a throwaway (or persistent) PostgreSQL server from the machine's binaries.
// Used by the tests, the benchmark and local mode. initdb refuses to run as root, so when we are
// root the server runs as the `postgres` OS user in a directory that user owns.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PostgresServerOptions {
  /** Data directory; a fresh temp dir when omitted (and removed on stop). */
  dataDir?: string;
  port?: number;
  /** Extra postgresql.conf lines. */
  settings?: Record<string, string | number>;
  /** Password of the `postgres` superuser for TCP logins (SCRAM). */
  superuserPassword?: string;
  /** Initialise as a streaming standby of this primary instead of running initdb. */
  standbyOf?: { host: string; port: number };
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  readonly superuser: string;
  readonly superuserPassword: string;
  readonly version: string;
  /** Run SQL as the superuser over the Unix socket; returns psql's unaligned output. */
  psql(sql: string, database?: string): Promise<string>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  promote(): Promise<void>;
}

export function findPostgresBinDir(): string {
  const fromEnv = process.env.SWITCHYARD_PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'postgres'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  throw new Error(
    'No PostgreSQL server binaries found (looked in $SWITCHYARD_PG_BIN and /usr/lib/postgresql/*/bin). ' +
      'Install them with: apt-get install postgresql',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let cachedIds: { uid: number; gid: number } | undefined;
/** uid/gid of the `postgres` OS user when we are root (`id` avoids a passwd-parsing dependency). */
function pgUserIds(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  cachedIds ??= {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  };
  return cachedIds;
}

/** Runs a PostgreSQL binary, as the postgres OS user when we are root. */
async function runPg(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const binDir = findPostgresBinDir();
  const file = isRoot ? 'runuser' : join(binDir, bin);
  const argv = isRoot ? ['-u', 'postgres', '--', join(binDir, bin), ...args] : args;
  try {
    const { stdout } = await execFileAsync(file, argv, {
      env: { ...process.env, ...env, LC_ALL: 'C' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

function makeOwnedDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const ids = pgUserIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
  chmodSync(path, 0o700);
}

export async function startPostgres(opts: PostgresServerOptions = {}): Promise<PostgresServer> {
  const host = '127.0.0.1';
  const ownsDir = !opts.dataDir;
  const root = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'switchyard-pg-'));
  if (ownsDir) chmodSync(root, 0o755);
  mkdirSync(root, { recursive: true });
  const ids = pgUserIds();
  if (ids) chownSync(root, ids.uid, ids.gid);
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  const superuserPassword = opts.superuserPassword ?? 'postgres';
  const port = opts.port ?? (await freePort());

  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  if (fresh) {
    if (opts.standbyOf) {
      makeOwnedDir(dataDir);
      await runPg('pg_basebackup', ['-h', opts.standbyOf.host, '-p', String(opts.standbyOf.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast'], {
        PGPASSWORD: superuserPassword,
      });
    } else {
      makeOwnedDir(dataDir);
      const pwFile = join(root, 'pwfile');
      writeFileSync(pwFile, superuserPassword + '\n', { mode: 0o600 });
      if (ids) chownSync(pwFile, ids.uid, ids.gid);
      await runPg('initdb', ['-D', dataDir, '-U', 'postgres', '--pwfile', pwFile, '-A', 'scram-sha-256', '--auth-local', 'trust', '-E', 'UTF8', '--no-sync']);
      rmSync(pwFile);
      // md5 logins for roles in the md5_users group, SCRAM for everyone else; replication for standbys.
      writeFileSync(
        join(dataDir, 'pg_hba.conf'),
        [
          'local all all trust',
          'host all +md5_users 127.0.0.1/32 md5',
          'host all all 127.0.0.1/32 scram-sha-256',
          'host replication all 127.0.0.1/32 scram-sha-256',
          '',
        ].join('\n'),
      );
    }
  }
  makeOwnedDir(socketDir);
  const settings: Record<string, string | number> = {
    listen_addresses: `'${host}'`,
    port,
    unix_socket_directories: `'${socketDir}'`,
    max_connections: 200,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: "'64MB'",
    wal_level: 'replica',
    max_wal_senders: 5,
    hot_standby: 'on',
    ...opts.settings,
  };
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
  writeFileSync(join(dataDir, 'postgresql.switchyard.conf'), conf);
  const mainConf = join(dataDir, 'postgresql.conf');
  if (!readFileSync(mainConf, 'utf8').includes("include 'postgresql.switchyard.conf'")) {
    appendFileSync(mainConf, "\ninclude 'postgresql.switchyard.conf'\n");
  }
  if (ids) {
    for (const f of ['postgresql.switchyard.conf', 'pg_hba.conf']) {
      if (existsSync(join(dataDir, f))) chownSync(join(dataDir, f), ids.uid, ids.gid);
    }
  }

  let version = '';
  const server: PostgresServer = {
    host,
    port,
    socketDir,
    dataDir,
    superuser: 'postgres',
    superuserPassword,
    get version() {
      return version;
    },
    async psql(sql: string, database = 'postgres') {
      const binDir = findPostgresBinDir();
      const { stdout } = await execFileAsync(
        join(binDir, 'psql'),
        ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql],
        { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 },
      ).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`psql failed: ${err.stderr || err.message}`);
      });
      return stdout.trim();
    },
    async start() {
      await runPg('pg_ctl', ['-D', dataDir, '-l', join(root, 'postgres.log'), '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
      version = await server.psql('show server_version');
    },
    async stop(mode = 'fast') {
      try {
        await runPg('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
      } catch (err) {
        if (!String(err).includes('Is server running?')) throw err;
      }
      if (ownsDir && mode !== 'immediate') rmSync(root, { recursive: true, force: true });
    },
    async promote() {
      await runPg('pg_ctl', ['-D', dataDir, '-w', 'promote']);
    },
  };
  // The log file must be writable by the server's user.
  const logFile = join(root, 'postgres.log');
  if (!existsSync(logFile)) writeFileSync(logFile, '');
  if (ids) chownSync(logFile, ids.uid, ids.gid);
  await server.start();
  if (fresh && !opts.standbyOf) {
    await server.psql('CREATE ROLE md5_users NOLOGIN');
  }
  return server;
}

/** Spawns a process and resolves with its exit code; stdout/stderr collected. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    // A child that exits before reading its input (psql refused at once) closes the pipe: the
    // write fails with EPIPE, which would otherwise be an uncaught exception. The exit code says
    // what happened.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
