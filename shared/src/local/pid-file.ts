// Pid files that name one process, not just a number — the one pid-file protocol of the project:
// the pooler's `<stateDir>/pooler.pid` (written by the pooler or its supervisor, read by the local
// control plane's reload push and by `switchyard start`) and the local stack's `switchyard.pid`.
// Pids are recycled: after a crash (kill -9,
// OOM, power cut) the pid in a left-behind file soon belongs to some unrelated process, and a
// SIGHUP or SIGTERM meant for the dead process would hit it. So the file records, beside the pid,
// what identifies that process for as long as it lives — the boot id
// (/proc/sys/kernel/random/boot_id) and its start time in clock ticks since boot (/proc/<pid>/stat
// field 22, proc(5)) — and a reader trusts the pid only while a process with that pid has that
// start time in this boot. Anything else is a stale file, treated as absent.
//
//   12345
//   start 8d3c...-boot-id 987654
//
// Without /proc (not Linux) only the pid is written and a reader trusts a live pid, as before.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `<boot id> <start time>` of a live process, undefined without /proc or when it is gone. */
export function processIdentity(pid: number): string | undefined {
  const boot = bootId();
  if (boot === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may hold spaces and ')', so count fields after the last ')'.
  // Field 3 (state) is the first one after it, so field 22 (starttime) is index 19.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  if (fields[0] === 'Z' || start === undefined || !/^\d+$/.test(start)) return undefined; // a zombie has exited
  return `${boot} ${start}`;
}

export function pidFileText(pid: number): string {
  const id = processIdentity(pid);
  return id === undefined ? `${pid}\n` : `${pid}\nstart ${id}\n`;
}

/** Writes `pid`'s pid file; returns a function that removes it if it still names `pid`. */
export function writePidFile(file: string, pid = process.pid): () => void {
  writeFileSync(file, pidFileText(pid), { mode: 0o644 });
  return () => removePidFile(file, pid);
}

/** Removes the pid file if it still names `pid` (another process may have claimed it since). */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPidFile(file) === pid) rmSync(file, { force: true });
}

/** The pid written in `file`, whether or not that process still runs; undefined without a readable file. */
export function readPidFile(file: string): number | undefined {
  try {
    return pidInFile(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The pid written in the file (first line), whether or not that process still runs. */
export function pidInFile(text: string): number | undefined {
  const pid = Number(text.split('\n')[0]?.trim());
  // Never 0/1 or a negative number: kill() would hit a process group or init.
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
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

/** Whether `pid` is a live process (EPERM: it exists but is someone else's; a zombie has exited). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/**
 * The pid in `file` if it still names the process that wrote it; undefined when there is no
 * file, or it is stale (that process is gone and the pid is free or someone else's). A file that
 * records no identity (older versions wrote the pid alone) is stale wherever /proc can tell.
 */
export function readLivePid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = pidInFile(text);
  if (pid === undefined) return undefined;
  if (bootId() === undefined) return isAlive(pid) ? pid : undefined; // no /proc: cannot tell
  const recorded = /^start (.+)$/m.exec(text)?.[1]?.trim();
  return recorded !== undefined && processIdentity(pid) === recorded ? pid : undefined;
}
