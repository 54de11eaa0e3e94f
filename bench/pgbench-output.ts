// Parses the summary pgbench prints after a run (PostgreSQL 15's pgbench; older wordings too).
// Reference: https://www.postgresql.org/docs/current/pgbench.html ("Typical output").
import { PgbenchOutputError } from './errors.ts';

export interface PgbenchSummary {
  /** "number of transactions actually processed" — the denominator for CPU per transaction. */
  transactions: number;
  /** "number of failed transactions" (pgbench ≥ 15; 0 when the line is absent). */
  failed: number;
  /** Transactions per second, excluding the initial connection time. */
  tps: number;
  /** "latency average", milliseconds (absent in some error cases). */
  latencyMs?: number;
  /** "initial connection time", milliseconds (pgbench ≥ 14). */
  connectionMs?: number;
}

function numberAfter(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

export function parsePgbenchOutput(text: string): PgbenchSummary {
  // With -t the line reads "N/M"; with -T (what the bench uses) just "N".
  const transactions = numberAfter(text, /^number of transactions actually processed:\s*(\d+)/m);
  // pgbench 14+: "tps = X (without initial connection time)"; 13 and older printed two lines,
  // "(including connections establishing)" and "(excluding connections establishing)": take the latter.
  const tps =
    numberAfter(text, /^tps = ([\d.]+) \(without initial connection time\)/m) ??
    numberAfter(text, /^tps = ([\d.]+) \(excluding connections establishing\)/m) ??
    numberAfter(text, /^tps = ([\d.]+)/m);
  if (transactions === undefined || tps === undefined) {
    const tail = text.trim().split('\n').slice(-5).join(' | ');
    throw new PgbenchOutputError(`pgbench printed no transaction summary: ${tail || '(no output)'}`);
  }
  const summary: PgbenchSummary = {
    transactions,
    failed: numberAfter(text, /^number of failed transactions:\s*(\d+)/m) ?? 0,
    tps,
  };
  const latencyMs = numberAfter(text, /^latency average = ([\d.]+) ms/m);
  if (latencyMs !== undefined) summary.latencyMs = latencyMs;
  const connectionMs = numberAfter(text, /^initial connection time = ([\d.]+) ms/m);
  if (connectionMs !== undefined) summary.connectionMs = connectionMs;
  return summary;
}

/** The "pgbench: error: ..." lines pgbench writes to stderr (prefix dropped). */
export function pgbenchErrorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^pgbench: error:/.test(l) || /^(ERROR|FATAL):/.test(l))
    .map((l) => l.replace(/^pgbench: error:\s*/, ''));
}
