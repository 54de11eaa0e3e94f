// The human-readable tables `npm run bench` prints (the JSON file holds the same numbers and more).
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
