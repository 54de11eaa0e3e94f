// Open-file limits: 500 pgbench clients or 1000 idle clients need more descriptors than the
// common default of 1024. Node raises its own soft limit to the hard limit at start-up and
// children inherit it; when even the hard limit is too low and we are root, a child is started
// through `sh -c 'ulimit -n N; exec …'` (root may raise the hard limit) and, if it must not run
// as root, drops privileges with setpriv(1) after the limit is raised.
import { readFileSync } from 'node:fs';
import { isRoot, type OsIds } from './os-user.ts';

export interface FileLimit {
  soft: number;
  hard: number;
}

/** Parses the "Max open files" line of /proc/<pid>/limits ("unlimited" → Infinity). */
export function parseOpenFileLimit(limitsText: string): FileLimit | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!m?.[1] || !m[2]) return undefined;
  const n = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]), hard: n(m[2]) };
}

export function ownOpenFileLimit(): FileLimit | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

export interface Command {
  command: string;
  args: string[];
  runAs?: OsIds;
}

/** The command, wrapped so it starts with at least `needed` descriptors when that takes a wrapper. */
export function withOpenFiles(cmd: Command, needed: number): Command {
  const limit = ownOpenFileLimit();
  if (!limit || limit.soft >= needed || !isRoot) return cmd;
  const tail = cmd.runAs
    ? ['setpriv', `--reuid=${cmd.runAs.uid}`, `--regid=${cmd.runAs.gid}`, '--clear-groups', cmd.command, ...cmd.args]
    : [cmd.command, ...cmd.args];
  // "$0" is the limit, "$@" the command: no shell quoting of arguments needed.
  return { command: 'sh', args: ['-c', 'ulimit -n "$0" || exit 111; exec "$@"', String(needed), ...tail] };
}
