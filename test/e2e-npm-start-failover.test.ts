// The whole system on one machine, used as a new user would (issue 7): `npm start` as a child
// process; a tenant created with the CLI and another with the HTTP API; psql through the pooler;
// clients writing in a loop while `switchyard clusters failover local` stops the primary,
// promotes the standby and drives the failover handler; then Ctrl-C (SIGINT to the process group)
// and no process left behind.
// What the client loop must show: every acknowledged write is on the new primary, every client
// writes on the new primary afterwards, and the only failures are statements that were already
// in flight when the old primary stopped (at most one per client).
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, spawnStack, type StackProcess } from '../local/stack-process.ts';
import { run } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, psql, sleep, until, type PgClient } from './helpers/clients.ts';
import type { ConnSettings } from './helpers/tenants.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'switchyard.js');

let stateDir: string;
let stack: StackProcess | undefined;

function cli(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // The CLI reads the API's token from the state directory, as after `export SWITCHYARD_STATE_DIR=...`.
  return run(process.execPath, [BIN, ...args, '--api', stack!.info.api], { input, timeoutMs: 60_000, env: { SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_API_TOKEN: '' } });
}

/** Processes whose command line mentions the state directory (servers, pooler, the stack itself). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(dir) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function postmasterPid(node: string): number | undefined {
  try {
    return Number(readFileSync(join(stateDir, 'pg', node, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Running (a zombie, exited but not yet collected by init, does not count). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

interface Ack {
  client: number;
  seq: number;
  sentAt: number;
  port: number;
}
interface Failure {
  client: number;
  sentAt: number;
  code: string | undefined;
  message: string;
}

/** `n` clients inserting in a loop through the pooler; a client whose connection dies reconnects. */
function writeLoop(c: ConnSettings, n: number): { acks: Ack[]; failures: Failure[]; disconnects: number[]; stop(): Promise<void> } {
  const acks: Ack[] = [];
  const failures: Failure[] = [];
  const disconnects: number[] = [];
  let stopped = false;
  const loops = Array.from({ length: n }, async (_, client) => {
    let conn: PgClient | undefined;
    let seq = 0;
    while (!stopped) {
      conn ??= await connectPg(c, { application_name: `e2e-writer-${client}` });
      const s = seq++;
      const sentAt = Date.now();
      try {
        const r = await conn.query<{ port: number }>('INSERT INTO writes (client, seq) VALUES ($1, $2) RETURNING inet_server_port() AS port', [client, s]);
        acks.push({ client, seq: s, sentAt, port: Number(r.rows[0]!.port) });
      } catch (err) {
        failures.push({ client, sentAt, ...pgErrorInfo(err) });
        // A lost connection: count it and connect again, as an application would.
        if (!(await conn.query('SELECT 1').then(() => true, () => false))) {
          disconnects.push(client);
          await endQuietly(conn);
          conn = undefined;
        }
      }
      await sleep(5);
    }
    await endQuietly(conn);
  });
  return {
    acks,
    failures,
    disconnects,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  // The PostgreSQL servers run as the postgres OS user when we are root: it must traverse the tree.
  chmodSync(stateDir, 0o755);
  stack = await spawnStack({ via: 'npm', stateDir, ports: await freePorts(), readyTimeoutMs: 60_000 });
}, 90_000);

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start: the whole system on one machine', () => {
  it('runs a tenant through the pooler across a failover, then stops every process it started', async () => {
    const s = stack!;
    const out = s.output();
    expect(out).toContain(`Pooler         127.0.0.1:${s.info.pooler.port}`);
    expect(out).toContain(`Control API    ${s.info.api}`);
    expect(out).toContain(`127.0.0.1 only; clients send the token in ${join(stateDir, 'api-token')}`);
    // The console's address carries the token in its fragment (never sent to the server).
    expect(out).toContain(`Console        ${s.info.api}/#token=${s.apiToken}`);
    expect(s.apiToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(out).toContain('switchyard tenants create');

    // A tenant through the CLI: provisioned, the password shown once with a psql line.
    const created = await cli(['tenants', 'create', 'e2e-cli']);
    expect(created.code, created.stderr).toBe(0);
    const password = /Password \(shown only now\): (\S+)/.exec(created.stdout)?.[1];
    expect(password).toBeDefined();
    expect(created.stdout).toContain(`@127.0.0.1:${s.info.pooler.port}/e2e_cli`);

    // Another through the HTTP API, with a password of our choosing.
    const apiPassword = 'e2e-api-password-123';
    const res = await fetch(`${s.info.api}/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.apiToken}` },
      body: JSON.stringify({ tenantId: 'e2e-api', client: { database: 'appdb', user: 'appuser', password: apiPassword }, destination: { clusterId: 'local' }, provision: true }),
    });
    expect(res.status).toBe(201);

    const [a, b] = s.info.nodes;
    const viaPooler = (database: string, user: string, pw: string): ConnSettings => ({ host: '127.0.0.1', port: s.info.pooler.port, database, user, password: pw });
    const cliTenant = viaPooler('e2e_cli', 'e2e_cli', password!);
    const apiTenant = viaPooler('appdb', 'appuser', apiPassword);

    // psql through the pooler reaches the primary (node a) as the tenant's own role.
    await until(async () => (await psql(apiTenant, 'SELECT 1')).code === 0, 20_000, 'the pooler serving the API tenant');
    const who = await psql(cliTenant, 'SELECT current_user, current_database(), inet_server_port()');
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout.trim()).toBe(`e2e_cli|e2e_cli|${a!.port}`);
    const ddl = await psql(apiTenant, 'CREATE TABLE writes (client int NOT NULL, seq int NOT NULL, PRIMARY KEY (client, seq))');
    expect(ddl.code, ddl.stderr).toBe(0);

    const clients = 4;
    const loop = writeLoop(apiTenant, clients);
    await until(() => loop.acks.length >= 40, 30_000, 'writes on the primary');

    const fo = await cli(['clusters', 'failover', 'local', '--json']);
    expect(fo.code, fo.stderr).toBe(0);
    const t = JSON.parse(fo.stdout) as { from: { port: number }; to: { port: number }; primaryStoppedAt: string; event: { status: string; configVersion?: number }; poolerSwitchedAt?: string; poolerAppliedAt?: string };
    expect(t.from.port).toBe(a!.port);
    expect(t.to.port).toBe(b!.port);
    expect(t.event.status).toBe('applied');
    expect(t.poolerSwitchedAt).toBeDefined();
    // The stack waited for the pooler to apply the failover's config version (read from SHOW CONFIG).
    expect(t.event.configVersion).toBeDefined();
    expect(t.poolerAppliedAt).toBeDefined();
    const stoppedAt = Date.parse(t.primaryStoppedAt);

    await until(() => Array.from({ length: clients }, (_, i) => i).every((i) => loop.acks.some((x) => x.client === i && x.port === b!.port)), 30_000, 'every client writing on the new primary');
    await loop.stop();

    const report = (): string => JSON.stringify({ failures: loop.failures, disconnects: loop.disconnects }, null, 1);
    // Only statements already in flight when the primary stopped may fail, each client at most once.
    expect(loop.failures.filter((f) => f.sentAt > stoppedAt), report()).toEqual([]);
    expect(new Set(loop.failures.map((f) => f.client)).size, report()).toBe(loop.failures.length);
    expect(loop.disconnects.length, report()).toBeLessThanOrEqual(loop.failures.length);
    // Every acknowledged write is on the new primary.
    const check = await connectPg(apiTenant);
    const stored = new Set((await check.query<{ k: string }>("SELECT client || ':' || seq AS k FROM writes")).rows.map((r) => r.k));
    await endQuietly(check);
    expect(loop.acks.filter((x) => !stored.has(`${x.client}:${x.seq}`))).toEqual([]);
    expect(loop.acks.filter((x) => x.sentAt > stoppedAt).every((x) => x.port === b!.port)).toBe(true);

    // psql as the other tenant lands on the new primary too; status shows the new roles.
    const after = await psql(cliTenant, 'SELECT inet_server_port()');
    expect(after.stdout.trim()).toBe(String(b!.port));
    let status: { nodes: { name: string; role: string; streaming: boolean }[]; configVersion: number; pooler: { appliedConfigVersion?: number }; pools: { tenant: string }[] } | undefined;
    await until(
      async () => {
        const st = await cli(['status', '--json']);
        status = JSON.parse(st.stdout) as typeof status;
        return status!.nodes.find((n) => n.name === 'a')?.role === 'standby' && status!.nodes.find((n) => n.name === 'a')!.streaming;
      },
      60_000,
      'node a rebuilt as a streaming standby',
    );
    expect(status!.nodes.find((n) => n.name === 'b')?.role).toBe('primary');
    expect(status!.pools.map((p) => p.tenant).sort()).toEqual(['demo', 'e2e-api', 'e2e-cli']); // 'demo': created by the first start
    const human = await cli(['status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Config version \d+; the pooler has applied/);

    // Ctrl-C: everything stops, nothing is left running, the pid files are gone.
    const pids = [s.info.pid, s.info.pooler.pid, postmasterPid('a'), postmasterPid('b')].filter((p): p is number => p !== undefined);
    expect(pids.length).toBe(4);
    await s.stop();
    expect(s.output()).toContain('Stopped.');
    // pg_ctl stop returns when the postmaster removed its pid file, a moment before it exits.
    await until(() => pids.filter(alive).length === 0, 10_000, 'every process of the stack gone').catch(() => undefined);
    expect(pids.filter(alive)).toEqual([]);
    expect(processesUsing(stateDir).filter((p) => alive(Number(p.split(':')[0])))).toEqual([]);
    for (const f of ['switchyard.pid', 'pooler.pid', 'stack.json']) expect(existsSync(join(stateDir, f)), f).toBe(false);
  }, 90_000);
});
