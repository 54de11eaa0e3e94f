// Pid files of the processes the local stack starts, and the clean-up of ones a previous run left
// behind (a `kill -9`, a crash, a power cut). A pid is only trusted when the process behind it is
// still what we started: pids are recycled, so we look at /proc/<pid>/cmdline before signalling.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]?.trim());
  // Never 0/1 or a negative number: kill() would hit a process group or init.
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export function writePid(file: string, pid = process.pid): void {
  writeFileSync(file, `${pid}\n`, { mode: 0o644 });
}

/** Removes the pid file if it still names `pid`. */
export function removePid(file: string, pid = process.pid): void {
  if (readPid(file) === pid) rmSync(file, { force: true });
}

/** A zombie has exited; only its parent (or init) has yet to collect its status. */
function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state ..." — comm may contain spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** The process's arguments (argv), or undefined when it is gone or unreadable. */
export function commandArgs(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').slice(0, raw.endsWith('\0') ? -1 : undefined);
  } catch {
    return undefined;
  }
}

/** The process's command line (arguments joined by spaces), or undefined when it is gone or unreadable. */
export function commandLine(pid: number): string | undefined {
  return commandArgs(pid)?.join(' ').trim();
}

/** A live process whose command line contains every one of `parts`. */
export function isOurs(pid: number, parts: readonly string[]): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  // Without /proc (not Linux) we cannot tell; assume it is ours only if it is alive.
  if (cmd === undefined) return true;
  return parts.every((p) => cmd.includes(p));
}

/** Waits until `pid` has exited; false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > until) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
export async function terminate(pid: number, graceMs: number): Promise<'exited' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'exited';
  }
  if (await waitForExit(pid, graceMs)) return 'exited';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  await waitForExit(pid, 5_000);
  return 'killed';
}
