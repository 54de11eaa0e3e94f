// One pgbench run: `pgbench -n -S` (built-in select-only script, no vacuum) for a fixed time.
// https://www.postgresql.org/docs/current/pgbench.html
import { run } from '../shared/src/local/postgres-server.ts';
import { withOpenFiles } from './open-files.ts';
import { baseMode, type RunMode } from './options.ts';
import { parsePgbenchOutput, pgbenchErrorLines, type PgbenchSummary } from './pgbench-output.ts';
import type { ClientLogin } from './pooler-process.ts';

export interface PgbenchRun {
  clients: number;
  jobs: number;
  durationSec: number;
  mode: RunMode;
}

export type PgbenchOutcome = { ok: true; summary: PgbenchSummary } | { ok: false; error: string; summary?: PgbenchSummary };

export function pgbenchArgs(login: ClientLogin, r: PgbenchRun): string[] {
  return [
    '-n',
    '-S',
    '-c', String(r.clients),
    // pgbench rejects more threads than clients.
    '-j', String(Math.min(r.jobs, r.clients)),
    '-T', String(r.durationSec),
    '-M', baseMode(r.mode).mode,
    '-h', login.host,
    '-p', String(login.port),
    '-U', login.user,
    login.database,
  ];
}

export async function runPgbench(login: ClientLogin, r: PgbenchRun): Promise<PgbenchOutcome> {
  const cmd = withOpenFiles({ command: 'pgbench', args: pgbenchArgs(login, r) }, r.clients + 64);
  const res = await run(cmd.command, cmd.args, {
    // The password travels in the environment, never on a command line visible in ps.
    env: { PGPASSWORD: login.password, PGSSLMODE: baseMode(r.mode).tls ? 'require' : 'disable', PGCONNECT_TIMEOUT: '30' },
    timeoutMs: (r.durationSec + 180) * 1000,
  });
  const output = `${res.stdout}\n${res.stderr}`;
  let summary: PgbenchSummary | undefined;
  try {
    summary = parsePgbenchOutput(res.stdout);
  } catch {
    summary = undefined;
  }
  // pgbench only logs some server errors (e.g. a failed PREPARE in -M prepared) and carries on,
  // still exiting 0: a run with any "error:" line is not a clean measurement.
  const errorLines = pgbenchErrorLines(res.stderr);
  if (res.code === 0 && summary && summary.failed === 0 && summary.transactions > 0 && errorLines.length === 0) return { ok: true, summary };
  // pgbench exits 2 when a client aborted ("Run was aborted; the above results are incomplete").
  const first = errorLines[0] ?? output.split('\n').find((l) => /FATAL|abort/i.test(l))?.trim();
  const lastLines = summary ? '' : `, no summary; output ends: ${output.trim().split('\n').slice(-3).join(' | ') || '(none)'}`;
  const counts = `exit code ${res.code}${lastLines}${summary ? `, ${summary.failed} failed, ${summary.transactions} processed` : ''}${errorLines.length > 0 ? `, ${errorLines.length} error line(s)` : ''}`;
  const error = first ? `${first} (${counts})` : counts;
  return summary ? { ok: false, error, summary } : { ok: false, error };
}
