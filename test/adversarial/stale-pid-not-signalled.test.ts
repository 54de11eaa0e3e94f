// A pooler that crashed (kill -9, OOM, power cut) leaves `<stateDir>/pooler.pid` behind, and its
// pid is soon reused by some unrelated process. Nothing may then signal that process:
// - every API change pushes a reload (SIGHUP to the pid in pooler.pid; SIGHUP kills a process
//   that does not handle it), e.g. `switchyard tenants create`;
// - `switchyard start` stops a pooler a crashed run left behind (SIGTERM, then SIGKILL), and it
//   used to trust any live process whose command line mentions "pooler" and the state directory
//   — such as `tail -f <stateDir>/logs/pooler.log`.
// - the same start stops PostgreSQL servers left running (SIGINT to the pid in postmaster.pid),
//   and it trusted any live process whose command line says "postgres".
// The pid file must be proven to name our pooler (the process start time recorded in it), or our
// postmaster (`postgres -D <that data dir>`); a stale one counts as absent. Controls show the same
// commands do signal the real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { depsWith } from '../../functions/lib/deps.ts';
import { createPgConnect } from '../../functions/lib/pg-target.ts';
import { startApiServer, type ApiServer } from '../../local/api-server.ts';
import { ensureApiToken } from '../../local/api-token.ts';
import { apiRoutes } from '../../local/routes.ts';
import { stateLayout } from '../../local/layout.ts';
import { PgNode } from '../../local/nodes.ts';
import { freePorts, spawnStack, type StackProcess } from '../../local/stack-process.ts';
import { writePidFile } from '../../pooler/src/config/sources/local-source.ts';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { LOCAL_POOLER_PID_FILE } from '../../shared/src/local/config-channel.ts';
import { run } from '../../shared/src/local/postgres-server.ts';
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { until } from '../helpers/clients.ts';

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'switchyard.js');

let dir: string;
const children: ChildProcess[] = [];

interface Bystander {
  child: ChildProcess;
  pid: number;
  /** Set when it exited, with the signal that ended it. */
  ended: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** An unrelated process that a recycled pid could name. */
function bystander(cmd: string, args: string[]): Bystander {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  children.push(child);
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (ended = { code, signal }));
  return { child, pid: child.pid!, ended: () => ended };
}

/** A stand-in for the real pooler: reports each SIGHUP on stdout. */
async function fakePooler(): Promise<{ pid: number; hups: () => number }> {
  const child = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => console.log('hup')); console.log('ready'); setInterval(() => {}, 1000);"], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('ready'), 30_000, 'the fake pooler started');
  return { pid: child.pid!, hups: () => out.split('\n').filter((l) => l === 'hup').length };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-stale-pid-'));
  chmodSync(dir, 0o755);
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a stale pid file never gets an unrelated process signalled', () => {
  let adapters: Adapters | undefined;
  let api: ApiServer | undefined;
  afterAll(async () => {
    await api?.close();
    await adapters?.close();
  });

  it('an API change (reload push, SIGHUP) leaves the process with the recycled pid alone', async () => {
    const stateDir = join(dir, 'api');
    adapters = await createLocalAdapters(stateDir);
    const token = ensureApiToken(stateDir);
    const log = pino({ level: 'silent' });
    api = await startApiServer({ host: '127.0.0.1', port: 0, token, routes: apiRoutes(depsWith(adapters, { log, pg: createPgConnect({ ssl: 'disable' }) })), log });
    // What a running stack records: the CLI sends the state directory's token to that address only.
    writeFileSync(join(stateDir, 'stack.json'), JSON.stringify({ api: api.url }), { mode: 0o600 });
    const destPw = join(dir, 'dest-password');
    writeFileSync(destPw, 'destination-password-1\n', { mode: 0o600 });
    const create = (id: string) =>
      run(process.execPath, [BIN, 'tenants', 'create', id, '--host', '127.0.0.1', '--port', '5432', '--dest-password-file', destPw, '--api', api!.url], {
        timeoutMs: 30_000,
        env: { SWITCHYARD_API: '', SWITCHYARD_API_TOKEN: '', SWITCHYARD_STATE_DIR: stateDir },
      });

    // The file a crashed pooler left (its pid alone, as poolers have written it), now naming `sleep`.
    const sleeper = bystander('sleep', ['300']);
    writeFileSync(join(stateDir, LOCAL_POOLER_PID_FILE), `${sleeper.pid}\n`);
    const first = await create('after-crash');
    expect(first.code, first.stderr).toBe(0);

    // Control: the next change does reach a live pooler whose pid file it wrote itself. The
    // SIGHUP to the sleeper, had there been one, was sent before this one.
    const pooler = await fakePooler();
    const removePidFile = writePidFile(stateDir, pooler.pid);
    const second = await create('with-pooler');
    expect(second.code, second.stderr).toBe(0);
    await until(() => pooler.hups() === 1, 10_000, 'the pooler got its SIGHUP');
    removePidFile();

    expect(sleeper.ended()).toBeUndefined();
    expect(sleeper.child.kill('SIGKILL')).toBe(true); // still there to be killed by its owner
  });

  it('`switchyard start` does not SIGTERM a process that only looks like the crashed run\'s pooler', async () => {
    const stateDir = join(dir, 'start');
    mkdirSync(join(stateDir, 'logs'), { recursive: true, mode: 0o755 });
    chmodSync(stateDir, 0o755);
    writeFileSync(join(stateDir, 'logs', 'pooler.log'), '');
    // Someone watching the old pooler's log: its command line names "pooler" and the state dir.
    const watcher = bystander('tail', ['-f', join(stateDir, 'logs', 'pooler.log')]);
    writeFileSync(join(stateDir, LOCAL_POOLER_PID_FILE), `${watcher.pid}\n`);
    let stack: StackProcess | undefined;
    try {
      stack = await spawnStack({ via: 'node', stateDir, ports: await freePorts(), readyTimeoutMs: 150_000 });
      expect(stack.output()).not.toContain('stopping the pooler left running by a previous run');
      expect(stack.info.pooler.pid).not.toBe(watcher.pid);
    } finally {
      await stack?.stop();
    }
    expect(watcher.ended()).toBeUndefined();
  }, 240_000);

  it('a stale postmaster.pid: only the postmaster of that data directory is stopped', async () => {
    const layout = stateLayout(join(dir, 'pg-node'));
    const node = new PgNode(layout, 'a', 1, 'unused');
    mkdirSync(node.dataDir, { recursive: true });
    writeFileSync(join(node.root, 'postgres.log'), '');
    // `tail -f .../pg/a/postgres.log`: "postgres" is in its command line.
    const watcher = bystander('tail', ['-f', join(node.root, 'postgres.log')]);
    writeFileSync(join(node.dataDir, 'postmaster.pid'), `${watcher.pid}\n${node.dataDir}\n`);
    expect(await node.stopLeftover()).toBe(false);
    // Control: a process that is `postgres -D <this data dir>` is stopped.
    const postmaster = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '-D', node.dataDir], { argv0: 'postgres', stdio: 'ignore' });
    children.push(postmaster);
    await until(() => readFileSync(`/proc/${postmaster.pid}/cmdline`, 'utf8').includes(node.dataDir), 10_000, 'the stand-in postmaster started');
    writeFileSync(join(node.dataDir, 'postmaster.pid'), `${postmaster.pid}\n${node.dataDir}\n`);
    expect(await node.stopLeftover()).toBe(true);
    // stopLeftover saw the pid gone from /proc; the child's exit event may still be on its way.
    if (postmaster.exitCode === null && postmaster.signalCode === null) await once(postmaster, 'exit');
    expect(postmaster.signalCode).toBe('SIGINT');
    expect(watcher.ended()).toBeUndefined();
  });
});
