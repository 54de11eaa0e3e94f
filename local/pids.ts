// The processes the local stack starts, and the clean-up of ones a previous run left behind (a
// `kill -9`, a crash, a power cut). A pid is only trusted when the process behind it is still what
// we started: pids are recycled, so we look at /proc/<pid>/cmdline before signalling. The pid
// files themselves (format, read, write, remove) are shared/src/local/pid-file.ts.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../shared/src/local/pid-file.ts';

export { isAlive };

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
