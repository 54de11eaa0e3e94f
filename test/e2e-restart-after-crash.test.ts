// State lives in one directory and survives restarts — even a crash. `switchyard start` is killed
// with SIGKILL, leaving its pooler and both PostgreSQL servers running (as after a crash or a
// `kill -9`). A second `start` on the same directory while the first one runs is refused; the
// next start after the crash cleans up what was left (stops the stale pooler and servers by their
// pid files), comes back with the same tenants, serves them through the pooler, and stops
// cleanly with nothing left behind.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, spawnStack, startFlags, type StackProcess } from '../local/stack-process.ts';
import type { PortName } from '../local/options.ts';
import { run } from '../shared/src/local/postgres-server.ts';
import { psql, until } from './helpers/clients.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'switchyard.js');

let stateDir: string;
let ports: Record<PortName, number>;
let first: StackProcess | undefined;
let second: StackProcess | undefined;

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) && running(Number(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function postmasterPid(node: string): number {
  return Number(readFileSync(join(stateDir, 'pg', node, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-restart-'));
  chmodSync(stateDir, 0o755);
  ports = await freePorts();
  first = await spawnStack({ via: 'node', stateDir, ports, readyTimeoutMs: 60_000 });
}, 90_000);

afterAll(async () => {
  for (const s of [first, second]) await s?.stop().catch(() => undefined);
  // Whatever a failed run left: stop it by pid (never by name).
  for (const pid of processesUsing(stateDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('restart after a crash', () => {
  it('refuses a second start, cleans up stale processes, keeps the tenants', async () => {
    const api = first!.info.api;
    const env = { SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_API_TOKEN: '' }; // where the CLI finds the token
    const created = await run(process.execPath, [BIN, 'tenants', 'create', 'survivor', '--api', api], { timeoutMs: 60_000, env });
    expect(created.code, created.stderr).toBe(0);
    const password = /Password \(shown only now\): (\S+)/.exec(created.stdout)![1]!;
    const conn = { host: '127.0.0.1', port: ports.pooler, database: 'survivor', user: 'survivor', password };
    await until(async () => (await psql(conn, 'SELECT 1')).code === 0, 20_000, 'the tenant served');

    const twice = await run(process.execPath, [BIN, 'start', ...startFlags(stateDir, ports)], { timeoutMs: 60_000 });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`Switchyard is already running on ${stateDir} (pid ${first!.info.pid})`);
    // The refused start touched nothing of the running one.
    expect(JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')).pid).toBe(first!.info.pid);

    // The crash: only `switchyard start` dies; its pooler and servers keep running.
    const left = [first!.info.pooler.pid, postmasterPid('a'), postmasterPid('b')];
    process.kill(first!.info.pid, 'SIGKILL');
    await until(() => !running(first!.info.pid), 10_000, 'switchyard start killed');
    expect(left.filter(running)).toEqual(left);

    second = await spawnStack({ via: 'node', stateDir, ports, readyTimeoutMs: 60_000 });
    const out = second.output();
    expect(out).toContain(`stopping the pooler left running by a previous run (pid ${first!.info.pooler.pid})`);
    expect(out).toContain('stopped PostgreSQL node a left running by a previous run');
    expect(out).toContain('stopped PostgreSQL node b left running by a previous run');
    expect(left.filter(running)).toEqual([]);

    // The token survives the restart: the same one is reused.
    expect(second.apiToken).toBe(first!.apiToken);
    const list = await run(process.execPath, [BIN, 'tenants', 'list', '--json', '--api', second.info.api], { env });
    expect((JSON.parse(list.stdout) as { items: { tenantId: string }[] }).items.map((t) => t.tenantId).sort()).toEqual(['demo', 'survivor']); // 'demo': created by the first start
    await until(async () => (await psql(conn, 'SELECT 1')).code === 0, 20_000, 'the tenant served after the restart');
    const who = await psql(conn, 'SELECT current_user, inet_server_port()');
    expect(who.stdout.trim()).toBe(`survivor|${ports.primary}`);

    const pids = [second.info.pid, second.info.pooler.pid, postmasterPid('a'), postmasterPid('b')];
    await second.stop();
    await until(() => pids.filter(running).length === 0, 10_000, 'every process gone').catch(() => undefined);
    expect(pids.filter(running)).toEqual([]);
    expect(processesUsing(stateDir)).toEqual([]);
  }, 120_000);
});
