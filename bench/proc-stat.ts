// CPU time and resident memory of a process tree, from Linux procfs (proc(5)).
// The pooler may run worker processes, so everything is measured over the pid and its
// descendants. /proc/<pid>/stat fields (1-based, proc(5)): 2 comm (in parentheses, may itself
// contain spaces and parentheses), 3 state, 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime —
// all times in clock ticks (sysconf(_SC_CLK_TCK), `getconf CLK_TCK`).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ProcParseError } from './errors.ts';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU of children this process has waited for (a reaped worker's time moves here). */
  cutime: number;
  cstime: number;
}

export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  // The last ')' ends comm: comm may contain ')' but nothing after it can.
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new ProcParseError(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3, so field n is rest[n - 3].
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isInteger(v)) throw new ProcParseError(`/proc/<pid>/stat field ${n} is not a number: ${text.slice(0, 80)}`);
    return v;
  };
  if (!Number.isInteger(pid)) throw new ProcParseError(`/proc/<pid>/stat has no pid: ${text.slice(0, 80)}`);
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/** VmRSS from /proc/<pid>/status, in kB (the kernel's "kB" means KiB). */
export function parseVmRssKb(statusText: string): number {
  const m = /^VmRSS:\s*(\d+)\s*kB/m.exec(statusText);
  if (!m?.[1]) throw new ProcParseError('no VmRSS line in /proc/<pid>/status');
  return Number(m[1]);
}

/** The root and every descendant of it among `all` (any order). */
export function descendantsOf(root: number, all: readonly ProcStat[]): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const p of all) {
    const list = byParent.get(p.ppid);
    if (list) list.push(p);
    else byParent.set(p.ppid, [p]);
  }
  const out: ProcStat[] = [];
  const rootStat = all.find((p) => p.pid === root);
  if (!rootStat) return out;
  const queue = [rootStat];
  for (let p = queue.shift(); p; p = queue.shift()) {
    out.push(p);
    queue.push(...(byParent.get(p.pid) ?? []));
  }
  return out;
}

/**
 * CPU ticks of a tree: utime+stime of every live member plus their cutime+cstime, so a worker
 * that exits and is reaped during a run still counts (its time moves into its parent's cutime;
 * a live member's cutime never includes a live child, so nothing is counted twice).
 */
export function treeTicks(tree: readonly ProcStat[]): number {
  let t = 0;
  for (const p of tree) t += p.utime + p.stime + p.cutime + p.cstime;
  return t;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

/** All processes on the machine (procfs scan: works without CONFIG_PROC_CHILDREN). */
function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

export function processTree(root: number): ProcStat[] {
  return descendantsOf(root, allProcesses());
}

export function treeCpuTicks(root: number): number {
  return treeTicks(processTree(root));
}

/** Sum of VmRSS over the tree, kB. Zombies have no VmRSS line and count as 0. */
export function treeRssKb(root: number): number {
  let kb = 0;
  for (const p of processTree(root)) {
    try {
      kb += parseVmRssKb(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
    } catch {
      // exited or zombie
    }
  }
  return kb;
}

let ticksPerSecond: number | undefined;
/** Clock ticks per second for /proc times (`getconf CLK_TCK`, almost always 100). */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(ticksPerSecond) || ticksPerSecond <= 0) throw new ProcParseError(`getconf CLK_TCK printed ${ticksPerSecond}`);
  return ticksPerSecond;
}

/**
 * Busy clock ticks of the whole machine from the `cpu` line of /proc/stat (proc(5)): user, nice,
 * system, irq, softirq and steal, summed over all CPUs (guest time is already inside user).
 */
export function parseMachineBusyTicks(procStatText: string): number {
  const line = procStatText.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new ProcParseError('no "cpu " line in /proc/stat');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((v) => !Number.isFinite(v))) throw new ProcParseError(`unexpected /proc/stat cpu line: ${line.slice(0, 80)}`);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return user + nice + system + irq + softirq + steal;
}

export function machineBusyTicks(): number {
  return parseMachineBusyTicks(readFileSync('/proc/stat', 'utf8'));
}

/** CPU ticks of this process's children that it has waited for (a finished pgbench run lands here). */
export function reapedChildrenTicks(): number {
  const s = readStat(process.pid);
  return s ? s.cutime + s.cstime : 0;
}

/** Live children of `pid` (e.g. the postmaster's backends). */
export function childCount(pid: number): number {
  return allProcesses().filter((p) => p.ppid === pid).length;
}
