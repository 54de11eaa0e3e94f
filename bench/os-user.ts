// PgBouncer refuses to run as root ("PgBouncer should not run as root"), and PostgreSQL's files
// belong to the `postgres` OS user when the bench runs as root; this finds that user's ids.
import { execFileSync } from 'node:child_process';
import { chownSync } from 'node:fs';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export interface OsIds {
  uid: number;
  gid: number;
}

let cached: OsIds | undefined;
/** The postgres user's uid/gid when we are root; undefined otherwise (run as ourselves). */
export function unprivilegedIds(): OsIds | undefined {
  if (!isRoot) return undefined;
  cached ??= {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  };
  return cached;
}

export function chownToUnprivileged(path: string): void {
  const ids = unprivilegedIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
}
