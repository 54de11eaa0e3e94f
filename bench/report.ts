// The human-readable tables `npm run bench` prints (the JSON file holds the same numbers and more).
import type { LoginResult } from './logins.ts';
import type { Cell, Row } from './summary.ts';

export interface IdleMemoryResult {
  target: 'pgbouncer' | 'switchyard';
  requested: number;
  /** Clients that completed authentication and stayed connected. */
  connected: number;
  rssBeforeKb?: number;
  rssAfterKb?: number;
  /** (RSS after − RSS before) / connected, KiB: the first N clients of a fresh pooler. */
  perClientKb?: number;
  /** The same N clients again, after the first N have gone (steady state). */
  rssWarmBeforeKb?: number;
  rssWarmAfterKb?: number;
  warmPerClientKb?: number;
  error?: string;
}

function cellText(cell: Cell, value: number | undefined, digits: number): string {
  if (cell.status === 'ok') return value === undefined ? '-' : value.toFixed(digits);
  return cell.status === 'failed' ? 'FAIL' : cell.status;
}

function table(header: string[], lines: string[][], leftCols: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cols: string[]): string =>
    cols.map((c, i) => (i < leftCols ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

export function formatTpsTable(rows: readonly Row[]): string {
  const header = ['clients', 'mode', 'direct tps', 'pgbouncer tps', 'switchyard tps', 'sy/pgb', 'pgb cpu µs/txn', 'sy cpu µs/txn'];
  const lines = rows.map((r) => [
    String(r.clients),
    r.mode,
    cellText(r.cells.direct, r.cells.direct.tps, 0),
    cellText(r.cells.pgbouncer, r.cells.pgbouncer.tps, 0),
    cellText(r.cells.switchyard, r.cells.switchyard.tps, 0),
    r.ratio === undefined ? '-' : r.ratio.toFixed(2),
    cellText(r.cells.pgbouncer, r.cells.pgbouncer.cpuUsPerTxn, 1),
    cellText(r.cells.switchyard, r.cells.switchyard.cpuUsPerTxn, 1),
  ]);
  return table(header, lines, 2);
}

/**
 * CPU per transaction of every process involved, PgBouncer → Switchyard: the pooler itself, the
 * client (pgbench), PostgreSQL's backends and the whole machine. What a pooler costs its
 * neighbours counts as much as what it costs itself.
 */
export function formatProcessCpuTable(rows: readonly Row[]): string {
  const pair = (r: Row, k: 'cpuUsPerTxn' | 'clientUsPerTxn' | 'serverUsPerTxn' | 'machineUsPerTxn'): string => {
    const a = r.cells.pgbouncer;
    const b = r.cells.switchyard;
    const av = cellText(a, a[k], 1);
    const bv = cellText(b, b[k], 1);
    const ratio = a[k] !== undefined && b[k] !== undefined && a[k] > 0 ? ` (${(b[k] / a[k]).toFixed(2)}×)` : '';
    return `${av} → ${bv}${ratio}`;
  };
  const header = ['clients', 'mode', 'machine', 'pooler', 'pgbench', 'PostgreSQL'];
  const lines = rows.map((r) => [String(r.clients), r.mode, pair(r, 'machineUsPerTxn'), pair(r, 'cpuUsPerTxn'), pair(r, 'clientUsPerTxn'), pair(r, 'serverUsPerTxn')]);
  return table(header, lines, 2);
}

export function formatLoginTable(results: readonly LoginResult[]): string {
  const header = ['pooler', 'logins', 'pooler cpu µs/login', 'logins/s'];
  const lines = results.map((r) => [
    r.target,
    r.logins === 0 && r.error ? 'FAIL' : `${r.logins}${r.failed > 0 ? ` (+${r.failed} failed)` : ''}`,
    r.cpuUsPerLogin === undefined ? '-' : r.cpuUsPerLogin.toFixed(0),
    r.loginsPerSec === undefined ? '-' : r.loginsPerSec.toFixed(0),
  ]);
  return table(header, lines, 1);
}

/** Notes for every cell that failed, so a FAIL in the table is never unexplained. */
export function formatFailures(rows: readonly Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const [target, cell] of Object.entries(r.cells)) {
      if (cell.failures > 0 && cell.note) out.push(`${target} ${r.mode} -c ${r.clients}: ${cell.failures} failed run(s): ${cell.note}`);
    }
  }
  return out;
}

export function formatMemoryTable(results: readonly IdleMemoryResult[]): string {
  const kb = (v: number | undefined): string => (v === undefined ? '-' : `${(v / 1024).toFixed(1)} MiB`);
  const per = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)} KiB`);
  const header = ['pooler', 'idle clients', 'rss before', 'rss after', 'per client (fresh)', 'per client (again)'];
  const lines = results.map((m) => [
    m.target,
    m.error && m.connected === 0 ? 'FAIL' : `${m.connected}/${m.requested}`,
    kb(m.rssBeforeKb),
    kb(m.rssAfterKb),
    per(m.perClientKb),
    per(m.warmPerClientKb),
  ]);
  return table(header, lines, 1);
}
