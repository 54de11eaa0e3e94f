// A pooler under test: a separate OS process (so its CPU and memory can be read from /proc),
// started, probed until it answers an authenticated `SELECT 1`, and stopped again.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { PoolerStartError } from './errors.ts';
import { processTree } from './proc-stat.ts';
import { withOpenFiles } from './open-files.ts';
import type { OsIds } from './os-user.ts';

export interface ClientLogin {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export interface PoolerProcess {
  readonly name: string;
  readonly pid: number;
  readonly login: ClientLogin;
  readonly logFiles: string[];
  /** Set once the process has exited (unexpectedly, or after stop()). */
  exit(): { code: number | null; signal: string | null } | undefined;
  stop(): Promise<void>;
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  runAs?: OsIds;
  /** stdout and stderr go here. */
  outputFile: string;
  /** Further log files worth showing when start-up fails (e.g. PgBouncer's logfile). */
  extraLogFiles?: string[];
  login: ClientLogin;
  readyTimeoutMs: number;
  /** File descriptors the pooler needs (clients + server connections + slack). */
  openFiles: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function trySelectOne(login: ClientLogin, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ ...login, connectionTimeoutMillis: timeoutMs });
  // An 'error' event after connect (server closed the socket) must not crash the bench.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPoolerProcess(spec: SpawnSpec): Promise<PoolerProcess> {
  const out = openSync(spec.outputFile, 'a');
  const cmd = withOpenFiles({ command: spec.command, args: spec.args, ...(spec.runAs ? { runAs: spec.runAs } : {}) }, spec.openFiles);
  let child: ChildProcess;
  try {
    child = spawn(cmd.command, cmd.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', out, out],
      ...(cmd.runAs ? { uid: cmd.runAs.uid, gid: cmd.runAs.gid } : {}),
    });
  } finally {
    closeSync(out);
  }
  let exitInfo: { code: number | null; signal: string | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    });
    child.on('error', (err) => {
      spawnError = err;
      exitInfo ??= { code: null, signal: null };
      resolve();
    });
  });
  const logFiles = [spec.outputFile, ...(spec.extraLogFiles ?? [])];

  const handle: PoolerProcess = {
    name: spec.name,
    pid: child.pid ?? -1,
    login: spec.login,
    logFiles,
    exit: () => exitInfo,
    async stop() {
      if (exitInfo) return;
      // Remember the whole tree first: workers must not outlive the pooler they belonged to.
      const tree = child.pid ? processTree(child.pid).map((p) => p.pid) : [];
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (!exitInfo) child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
      for (const pid of tree) {
        if (pid === child.pid) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };

  const deadline = Date.now() + spec.readyTimeoutMs;
  let lastError = 'no attempt';
  // A pooler that is up but answers logins with an ErrorResponse will not get better by waiting.
  let serverErrors = 0;
  while (Date.now() < deadline && serverErrors < 5) {
    if (exitInfo) break;
    try {
      await trySelectOne(spec.login, 2000);
      return handle;
    } catch (err) {
      lastError = (err as Error).message;
      serverErrors = typeof (err as { severity?: unknown }).severity === 'string' ? serverErrors + 1 : 0;
    }
    await sleep(200);
  }
  // Decide why before stop(): the SIGTERM we send would otherwise look like an exit of its own.
  const diedEarly = exitInfo;
  const why = spawnError
    ? `could not spawn ${spec.command}: ${spawnError.message}`
    : diedEarly
      ? `exited during start-up (code ${diedEarly.code}, signal ${diedEarly.signal}); last login error: ${lastError}`
      : serverErrors >= 5
        ? `refuses the bench login: ${lastError}`
        : `did not answer an authenticated SELECT 1 within ${spec.readyTimeoutMs / 1000} s (last error: ${lastError})`;
  await handle.stop();
  const logs = logFiles.map((f) => tail(f)).filter(Boolean).join('\n');
  throw new PoolerStartError(`${spec.name} ${why}${logs ? `\n--- last log lines ---\n${logs}` : ''}`);
}
