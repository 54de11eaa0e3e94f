// Runs the Python driver workloads in test/python/*.py with the Debian-packaged drivers
// (python3-psycopg, python3-asyncpg). They are installed for /usr/bin/python3 only — the
// `python3` on PATH may be another interpreter without them — so that one is used explicitly.
// Connection settings travel in the libpq environment variables (PGHOST, PGPORT, PGDATABASE,
// PGUSER, PGPASSWORD), which psycopg (libpq) and asyncpg both read, so the password is never on a
// command line; workload parameters travel as JSON in SWITCHYARD_TEST_ARGS. Each script prints
// one JSON object as its last line of stdout.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from '../../shared/src/local/postgres-server.ts';
import type { ConnSettings } from './tenants.ts';

export const PYTHON = '/usr/bin/python3';
const SCRIPTS = resolve(import.meta.dirname, '..', 'python');

export interface PythonRun<T> {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON object on the last stdout line (undefined if the script printed none). */
  result: T | undefined;
}

/**
 * Why `modules` cannot be imported by /usr/bin/python3, or undefined when they all can. Tests fail
 * with this message rather than skip: CI installs the packages (scripts/setup.sh).
 */
export async function missingPythonModules(modules: string[]): Promise<string | undefined> {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = await run(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { timeoutMs: 30_000 });
  if (r.code === 0) return undefined;
  return `${PYTHON} cannot import ${modules.join(', ')} (apt-get install -y ${modules.map((m) => `python3-${m}`).join(' ')}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
}

/** Runs test/python/<script> against `c` with `args`; resolves with its exit and parsed result. */
export async function runPythonWorkload<T>(script: string, c: ConnSettings, args: Record<string, unknown>, timeoutMs = 180_000): Promise<PythonRun<T>> {
  const r = await run(PYTHON, ['-u', join(SCRIPTS, script)], {
    env: {
      PGHOST: c.host,
      PGPORT: String(c.port),
      PGDATABASE: c.database,
      PGUSER: c.user,
      PGPASSWORD: c.password,
      PGSSLMODE: 'disable',
      PGCONNECT_TIMEOUT: '20',
      SWITCHYARD_TEST_ARGS: JSON.stringify(args),
      PYTHONDONTWRITEBYTECODE: '1',
      LC_ALL: 'C.UTF-8',
    },
    timeoutMs,
  });
  const last = r.stdout.trim().split('\n').at(-1);
  let result: T | undefined;
  try {
    result = last ? (JSON.parse(last) as T) : undefined;
  } catch {
    result = undefined;
  }
  return { ...r, result };
}
