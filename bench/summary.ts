// Turns the individual pgbench runs into one row per (client count, protocol mode): the median
// of the rounds per target (the median shrugs off one round disturbed by a neighbour on this
// shared 2-core machine), the Switchyard/PgBouncer TPS ratio, and the poolers' CPU per transaction.
import type { RunMode, Target } from './options.ts';

export interface RunRecord {
  target: Target;
  clients: number;
  mode: RunMode;
  round: number;
  /** pgbench exited 0 and printed a summary with no failed transactions. */
  ok: boolean;
  error?: string;
  tps?: number;
  transactions?: number;
  failed?: number;
  latencyMs?: number;
  connectionMs?: number;
  /** Pooler process tree CPU (utime+stime) over the run, clock ticks; poolers only. */
  cpuTicks?: number;
  /** cpuTicks converted to microseconds, divided by the transactions pgbench reports. */
  cpuUsPerTxn?: number;
  /**
   * The neighbours' CPU over the same run, µs per transaction: pgbench (its own process, logins
   * included), PostgreSQL (the postmaster's tree: every backend) and the whole machine (/proc/stat).
   */
  clientUsPerTxn?: number;
  serverUsPerTxn?: number;
  machineUsPerTxn?: number;
  wallSec: number;
  /** The machine's 1-minute load average when the run started (neighbours' load shows here). */
  load1?: number;
}

export type CellStatus = 'ok' | 'failed' | 'n/a' | 'unavailable' | 'skipped';

export interface Cell {
  status: CellStatus;
  /** Why the cell has no number (the first error, or why the target was not run). */
  note?: string;
  tps?: number;
  cpuUsPerTxn?: number;
  clientUsPerTxn?: number;
  serverUsPerTxn?: number;
  machineUsPerTxn?: number;
  rounds: number;
  failures: number;
}

export interface Row {
  clients: number;
  mode: RunMode;
  cells: Record<Target, Cell>;
  /** Switchyard TPS / PgBouncer TPS, when both have numbers. */
  ratio?: number;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function cpuUsPerTransaction(ticks: number, ticksPerSecond: number, transactions: number): number | undefined {
  if (transactions <= 0) return undefined;
  return (ticks / ticksPerSecond) * 1e6 / transactions;
}

/** Why a target is not in a cell at all: `n/a` (cannot run that mode) or `unavailable` (did not start). */
export type Exclusions = (target: Target, mode: RunMode) => { status: 'n/a' | 'unavailable' | 'skipped'; note: string } | undefined;

export function summarise(runs: readonly RunRecord[], clients: readonly number[], modes: readonly RunMode[], targetList: readonly Target[], excluded: Exclusions): Row[] {
  const rows: Row[] = [];
  for (const c of clients) {
    for (const mode of modes) {
      const cells = {} as Record<Target, Cell>;
      for (const target of ['direct', 'pgbouncer', 'switchyard'] as const) {
        const why = targetList.includes(target) ? excluded(target, mode) : { status: 'skipped' as const, note: 'not selected' };
        if (why) {
          cells[target] = { status: why.status, note: why.note, rounds: 0, failures: 0 };
          continue;
        }
        const mine = runs.filter((r) => r.target === target && r.clients === c && r.mode === mode);
        const good = mine.filter((r) => r.ok);
        const tps = median(good.flatMap((r) => (r.tps === undefined ? [] : [r.tps])));
        const cell: Cell = { status: good.length > 0 ? 'ok' : 'failed', rounds: good.length, failures: mine.length - good.length };
        if (tps !== undefined) cell.tps = tps;
        for (const k of ['cpuUsPerTxn', 'clientUsPerTxn', 'serverUsPerTxn', 'machineUsPerTxn'] as const) {
          const m = median(good.flatMap((r) => (r[k] === undefined ? [] : [r[k]])));
          if (m !== undefined) cell[k] = m;
        }
        const firstError = mine.find((r) => !r.ok)?.error;
        if (firstError) cell.note = firstError;
        cells[target] = cell;
      }
      const row: Row = { clients: c, mode, cells };
      const sy = cells.switchyard.tps;
      const pgb = cells.pgbouncer.tps;
      if (sy !== undefined && pgb !== undefined && pgb > 0) row.ratio = sy / pgb;
      rows.push(row);
    }
  }
  return rows;
}
