// Where the time between a backend's answer and the next query goes: system calls and context
// switches per transaction of the pooler, of pgbench and of PostgreSQL's backends, behind
// PgBouncer and behind Switchyard in one run (`perf stat` on syscall tracepoints, which costs far
// less than strace and leaves the batching unchanged). Needs perf and root (or
// perf_event_paranoid ≤ 1).
//
//   node bench/syscalls.ts                      # 50 and 500 clients, simple
//   SC_CLIENTS=500 SC_MODES=extended SC_DURATION=8 node bench/syscalls.ts
//   SC_BUILD=/work/wt/base node bench/syscalls.ts  # another Switchyard build, as switchyard@base
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepareDatabase } from './database.ts';
import type { ProtocolMode } from './options.ts';
import { ensurePgbouncer, startPgbouncer } from './pgbouncer.ts';
import { pgbenchArgs, runPgbench } from './pgbench.ts';
import type { PoolerProcess } from './pooler-process.ts';
import { startSwitchyard } from './switchyard.ts';

const EVENTS = [
  'raw_syscalls:sys_enter',
  'syscalls:sys_enter_read',
  'syscalls:sys_enter_write',
  'syscalls:sys_enter_writev',
  'syscalls:sys_enter_recvfrom',
  'syscalls:sys_enter_sendto',
  'syscalls:sys_enter_epoll_wait',
  'syscalls:sys_enter_epoll_pwait',
  'syscalls:sys_enter_poll',
  'syscalls:sys_enter_ppoll',
  'syscalls:sys_enter_select',
  'syscalls:sys_enter_pselect6',
  'context-switches',
  'task-clock',
];
const SHORT: Record<string, string> = {
  'raw_syscalls:sys_enter': 'syscalls',
  'context-switches': 'cswitch',
  'task-clock': 'cpu µs',
};

const clients = (process.env.SC_CLIENTS ?? '50,500').split(',').map(Number);
const modes = (process.env.SC_MODES ?? 'simple').split(',') as ProtocolMode[];
const durationSec = Number(process.env.SC_DURATION ?? 5);
const build = process.env.SC_BUILD;

function parsePerf(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    if (f.length < 3) continue;
    const v = Number(f[0]);
    const name = f[2]!;
    if (!Number.isFinite(v)) continue;
    // task-clock is in ms: convert to µs.
    m.set(name, name === 'task-clock' ? v * 1000 : v);
  }
  return m;
}

function perfAttach(pids: number[], seconds: number): Promise<Map<string, number>> {
  return new Promise((res, rej) => {
    const p = spawn('perf', ['stat', '-x,', '-e', EVENTS.join(','), '-p', pids.join(','), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', rej);
    p.on('close', () => res(parsePerf(err)));
  });
}

function backendPids(postmaster: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (ppid === postmaster && cmd.includes('bench')) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const db = await prepareDatabase({ maxConnections: 700, scale: 1 });
const postmaster = Number(readFileSync(join(db.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const common = { server: { host: db.server.host, port: db.server.port }, database: db.database, user: db.user, password: db.password, verifier: db.verifier, poolSize: 20, maxClients: 2000 };
const targets: { name: string; p: PoolerProcess }[] = [];
try {
  const bin = await ensurePgbouncer((m) => process.stderr.write(`${m}\n`));
  if ('path' in bin) targets.push({ name: 'pgbouncer', p: await startPgbouncer({ ...common, binary: bin.path }) });
  targets.push({ name: 'switchyard', p: await startSwitchyard(common) });
  if (build) targets.push({ name: 'switchyard@build', p: await startSwitchyard({ ...common, root: resolve(build) }) });
  for (const t of targets) for (const mode of modes) await runPgbench(t.p.login, { clients: 50, jobs: 2, durationSec: 2, mode });
  const rows: string[] = [];
  const cols = ['syscalls', 'syscalls:sys_enter_read', 'syscalls:sys_enter_recvfrom', 'syscalls:sys_enter_write', 'syscalls:sys_enter_writev', 'syscalls:sys_enter_sendto', 'epoll/poll', 'context-switches', 'task-clock'];
  rows.push(['target', '-c', '-M', 'side', 'tps', ...cols.map((c) => SHORT[c] ?? c.replace('syscalls:sys_enter_', ''))].join('\t'));
  for (const c of clients) {
    for (const mode of modes) {
      for (const t of targets) {
        // pgbench under perf stat (its own threads), the pooler and the backends attached.
        const args = pgbenchArgs(t.p.login, { clients: c, jobs: 2, durationSec, mode });
        const bench = new Promise<{ stats: Map<string, number>; out: string }>((res, rej) => {
          const p = spawn('perf', ['stat', '-x,', '-e', EVENTS.join(','), '--', 'pgbench', ...args], {
            env: { ...process.env, PGPASSWORD: t.p.login.password, PGSSLMODE: 'disable' },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          p.stdout.on('data', (d: Buffer) => (out += d.toString()));
          p.stderr.on('data', (d: Buffer) => (err += d.toString()));
          p.on('error', rej);
          p.on('close', () => res({ stats: parsePerf(err), out }));
        });
        // Attach after the logins (≈1 s at 500 clients) and detach before the end.
        await new Promise((r) => setTimeout(r, 1500));
        const window = durationSec - 2;
        const [pooler, servers] = await Promise.all([perfAttach([t.p.pid], window), perfAttach(backendPids(postmaster), window)]);
        const b = await bench;
        const txns = Number(/number of transactions actually processed: (\d+)/.exec(b.out)?.[1] ?? NaN);
        const tps = Number(/tps = ([\d.]+) \(without/.exec(b.out)?.[1] ?? NaN);
        // pgbench's counts cover its whole run, the attached ones `window` seconds of it.
        const perTxn = (s: Map<string, number>, n: number): string[] =>
          cols.map((k) => {
            const v =
              k === 'syscalls'
                ? s.get('raw_syscalls:sys_enter')
                : k === 'epoll/poll'
                  ? ['epoll_wait', 'epoll_pwait', 'poll', 'ppoll', 'select', 'pselect6'].reduce((a, e) => a + (s.get(`syscalls:sys_enter_${e}`) ?? 0), 0)
                  : s.get(k);
            return v === undefined ? '-' : (v / n).toFixed(2);
          });
        const windowTxns = tps * window;
        rows.push([t.name, c, mode, 'pooler', tps.toFixed(0), ...perTxn(pooler, windowTxns)].join('\t'));
        rows.push([t.name, c, mode, 'pgbench', tps.toFixed(0), ...perTxn(b.stats, txns)].join('\t'));
        rows.push([t.name, c, mode, 'postgres', tps.toFixed(0), ...perTxn(servers, windowTxns)].join('\t'));
        process.stderr.write(`${rows.slice(-3).join('\n')}\n`);
      }
    }
  }
  console.log(`per transaction (pgbench -S, pool 20; pooler/postgres counted over ${durationSec - 2} s of each run):`);
  console.log(rows.join('\n'));
} finally {
  for (const t of targets) await t.p.stop().catch(() => undefined);
  await db.server.stop().catch(() => undefined);
}
