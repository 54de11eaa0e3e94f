// The admin console of a machine running several worker processes (`--workers N`, docs/workers.md):
// which commands go to every worker, and how their answers merge into one, so the console shows
// the machine as one pooler. The transport (IPC through the supervisor) is in cluster/; this file
// is pure.
//
// - SHOW POOLS/STATS*/DATABASES/LISTS: one row per tenant (per list), numbers summed over the
//   workers (each worker has its own pools, clients and counters; pool limits are split between
//   workers, so their sum is the configured value), except columns that are not amounts: the
//   longest wait and paused/disabled take the maximum, ports and text are the same everywhere;
//   SHOW STATS' mean durations (avg_xact_time, avg_query_time) are the workers' means weighted by
//   their counts over the same period.
// - SHOW CLIENTS/SERVERS: every worker's rows; ptr/link get the worker's number (`w2:c17`) because
//   each process numbers its connections from 1.
// - SHOW CONFIG/VERSION/HELP and anything that is not a command: this worker only.
// - PAUSE/KILL/RECONNECT/RELOAD: every worker; an error on any worker is the answer (PAUSE promises
//   that no server connection is left, RELOAD that the configuration is applied). RESUME succeeds
//   when any worker was paused. SHUTDOWN drains the whole machine.
import { adminErrorCatalog, AdminError, type AdminErrorCode, type AdminReply, type Cell, type Column } from './result.ts';

export type ActionVerb = 'PAUSE' | 'RESUME' | 'RECONNECT' | 'KILL' | 'RELOAD';
export type ShowMerge = 'POOLS' | 'STATS' | 'STATS_TOTALS' | 'STATS_AVERAGES' | 'STATEMENTS' | 'DATABASES' | 'LISTS' | 'CLIENTS' | 'SERVERS';

export type FanOut =
  | { readonly kind: 'local' }
  | { readonly kind: 'show'; readonly what: ShowMerge }
  | { readonly kind: 'action'; readonly verb: ActionVerb }
  | { readonly kind: 'shutdown' };

const SHOWS = new Set<string>(['POOLS', 'STATS', 'STATS_TOTALS', 'STATS_AVERAGES', 'STATEMENTS', 'DATABASES', 'LISTS', 'CLIENTS', 'SERVERS']);
const ACTIONS = new Set<string>(['PAUSE', 'RESUME', 'RECONNECT', 'KILL']);

/** Where a console command runs. Malformed commands run locally, which answers the error. */
export function fanOutOf(query: string): FanOut {
  // The same normalisation as dispatch.ts.
  const text = query.trim().replace(/[\s;]+$/, '');
  if (text === '' || text.includes(';')) return { kind: 'local' };
  const [, verbWord = '', rest = ''] = /^(\S+)\s*(.*)$/s.exec(text) ?? [];
  const verb = verbWord.toUpperCase();
  if (verb === 'SHOW') {
    const what = rest.toUpperCase();
    return SHOWS.has(what) ? { kind: 'show', what: what as ShowMerge } : { kind: 'local' };
  }
  // Arguments are checked by each worker; a bad one comes back as the same error from all.
  if (ACTIONS.has(verb)) return { kind: 'action', verb: verb as ActionVerb };
  if (verb === 'RELOAD' && rest === '') return { kind: 'action', verb: 'RELOAD' };
  if (verb === 'SHUTDOWN' && rest === '') return { kind: 'shutdown' };
  return { kind: 'local' };
}

/** An error as it crosses the process boundary. */
export interface AdminErrorData {
  readonly code: string | undefined;
  readonly message: string;
  readonly hint: string | undefined;
}

/** One worker's answer to a command. */
export type WorkerAnswer =
  | { readonly worker: number; readonly ok: true; readonly reply: AdminReply | null }
  | { readonly worker: number; readonly ok: false; readonly error: AdminErrorData };

export function errorData(err: unknown): AdminErrorData {
  if (err instanceof AdminError) return { code: err.code, message: err.message, hint: err.hint };
  return { code: undefined, message: err instanceof Error ? err.message : String(err), hint: undefined };
}

/** Back to an AdminError (the session answers ERROR with its SQLSTATE) or, if it was not one, an Error (XX000). */
export function errorFrom(data: AdminErrorData, suffix = ''): Error {
  const message = `${data.message}${suffix}`;
  if (data.code !== undefined && Object.hasOwn(adminErrorCatalog, data.code)) return new AdminError(data.code as AdminErrorCode, message, data.hint);
  return new Error(message);
}

function firstError(answers: readonly WorkerAnswer[]): Error | undefined {
  const failed = answers.filter((a) => !a.ok);
  const first = failed[0];
  if (first === undefined || first.ok) return undefined;
  // Name the worker when the others did not fail the same way (a worker-specific problem).
  const suffix = failed.length < answers.length ? ` (worker ${first.worker})` : '';
  return errorFrom(first.error, suffix);
}

/** The merged answer of an action (PAUSE, RESUME, RECONNECT, KILL, RELOAD). */
export function mergeAction(verb: ActionVerb, answers: readonly WorkerAnswer[]): AdminReply {
  // Actions go to the workers that are not draining: none means the machine is shutting down.
  if (answers.length === 0) throw new AdminError('SHUTTING_DOWN', 'the pooler is shutting down');
  const oks = answers.flatMap((a) => (a.ok && a.reply !== null ? [a.reply] : []));
  if (verb !== 'RESUME' || oks.length === 0) {
    const err = firstError(answers);
    if (err !== undefined) throw err;
  }
  const first = oks[0];
  if (first === undefined) throw new Error('no worker answered');
  if (first.kind !== 'tag') return first;
  const notices = [...new Set(oks.flatMap((r) => (r.kind === 'tag' ? (r.notices ?? []) : [])))];
  return notices.length > 0 ? { kind: 'tag', tag: first.tag, notices } : { kind: 'tag', tag: first.tag };
}

type Agg = 'sum' | 'max' | 'first';

interface RowMerge {
  /** Columns that identify a row across workers. */
  readonly key: readonly string[];
  /** Per column, where the default (numbers summed, text from the first worker) does not fit. */
  readonly agg?: Readonly<Record<string, Agg>>;
  /** Per row: LISTS' `databases` and `users` count configuration, the same on every worker. */
  readonly rowAgg?: (row: readonly Cell[]) => Agg | undefined;
  /** A wait given as whole seconds + microseconds: the longest of the workers'. */
  readonly waitPair?: readonly [string, string];
  /** Means: column → the column counting what it is the mean of (the workers' means, weighted). */
  readonly weightedBy?: Readonly<Record<string, string>>;
}

const STATS_MERGE: RowMerge = { key: ['database'], weightedBy: { avg_xact_time: 'avg_xact_count', avg_query_time: 'avg_query_count' } };
const STATS_AVERAGES_MERGE: RowMerge = { key: ['database'], weightedBy: { xact_time: 'xact_count', query_time: 'query_count' } };
const ROW_MERGES: Record<Exclude<ShowMerge, 'CLIENTS' | 'SERVERS'>, RowMerge> = {
  POOLS: { key: ['database', 'user'], waitPair: ['maxwait', 'maxwait_us'] },
  STATS: STATS_MERGE,
  STATS_TOTALS: { key: ['database'] },
  STATS_AVERAGES: STATS_AVERAGES_MERGE,
  // One row per tenant and shape: calls and time summed, the longest call, the mean weighted by calls.
  STATEMENTS: { key: ['database', 'query'], agg: { max_time: 'max' }, weightedBy: { avg_time: 'calls' } },
  DATABASES: { key: ['name'], agg: { port: 'first', paused: 'max', disabled: 'max' } },
  LISTS: { key: ['list'], rowAgg: (row) => (row[0] === 'databases' || row[0] === 'users' ? 'max' : undefined) },
};

/** The merged answer of a SHOW that several workers answered. */
export function mergeShow(what: ShowMerge, answers: readonly WorkerAnswer[]): AdminReply {
  if (answers.length === 0) throw new Error('no worker answered');
  const err = firstError(answers);
  if (err !== undefined) throw err;
  const results = answers.flatMap((a) => (a.ok && a.reply !== null && a.reply.kind === 'rows' ? [{ worker: a.worker, result: a.reply.result }] : []));
  const first = results[0];
  if (first === undefined) throw new Error('no worker answered with rows');
  const columns = first.result.columns;
  if (what === 'CLIENTS' || what === 'SERVERS') return { kind: 'rows', result: { columns, rows: concatConnections(columns, results) } };
  const merged = mergeRows(columns, ROW_MERGES[what], results.map((r) => r.result.rows));
  if (what === 'STATEMENTS') sortByTotalTime(columns, merged);
  return { kind: 'rows', result: { columns, rows: merged } };
}

/** SHOW STATEMENTS: each tenant's rows (tenants in first-seen order) by merged total time, most first. */
function sortByTotalTime(columns: readonly Column[], rows: Cell[][]): void {
  const db = index(columns, 'database');
  const total = index(columns, 'total_time');
  const order = new Map<Cell | undefined, number>();
  for (const r of rows) if (!order.has(r[db])) order.set(r[db], order.size);
  rows.sort((a, b) => order.get(a[db])! - order.get(b[db])! || num(b[total]) - num(a[total]));
}

function index(columns: readonly Column[], name: string): number {
  const i = columns.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`column ${name} missing`);
  return i;
}

function num(v: Cell | undefined): number {
  return typeof v === 'number' ? v : v === null || v === undefined || v === '' ? 0 : Number(v);
}

function mergeRows(columns: readonly Column[], spec: RowMerge, perWorker: readonly (readonly (readonly Cell[])[])[]): Cell[][] {
  const keyIdx = spec.key.map((k) => index(columns, k));
  const wait = spec.waitPair === undefined ? undefined : ([index(columns, spec.waitPair[0]), index(columns, spec.waitPair[1])] as const);
  const aggOf = columns.map((c, i): Agg => {
    if (keyIdx.includes(i)) return 'first';
    return spec.agg?.[c.name] ?? (c.type === 25 ? 'first' : 'sum');
  });
  const weighted = Object.entries(spec.weightedBy ?? {}).map(([c, w]) => [index(columns, c), index(columns, w)] as const);
  /** Per row and weighted column: [Σ mean × weight, Σ weight]. */
  const weights = new Map<string, [number, number][]>();
  const merged = new Map<string, Cell[]>();
  /** Longest wait per row, µs. */
  const waits = new Map<string, number>();
  for (const rows of perWorker) {
    for (const row of rows) {
      const key = JSON.stringify(keyIdx.map((i) => row[i] ?? null));
      const rowAgg = spec.rowAgg?.(row);
      const have = merged.get(key);
      if (have === undefined) merged.set(key, [...row]);
      else {
        for (let i = 0; i < columns.length; i++) {
          const agg = rowAgg !== undefined && aggOf[i] !== 'first' ? rowAgg : aggOf[i];
          if (agg === 'sum') have[i] = num(have[i]) + num(row[i]);
          else if (agg === 'max') have[i] = Math.max(num(have[i]), num(row[i]));
        }
      }
      if (wait !== undefined) waits.set(key, Math.max(waits.get(key) ?? 0, num(row[wait[0]]) * 1_000_000 + num(row[wait[1]])));
      if (weighted.length > 0) {
        const acc = weights.get(key) ?? weighted.map((): [number, number] => [0, 0]);
        weights.set(key, acc);
        weighted.forEach(([c, w], j) => {
          // SHOW STATS' counts are per-second rates rounded to integers (stats/averages.ts): a
          // worker with a mean had events in the period, so a rate shown as 0 was in (0, 0.5) a
          // second; weighed at 0.25 rather than 0, a quiet, slow tenant's mean is not merged to 0.
          const mean = num(row[c]);
          const weight = mean > 0 ? Math.max(num(row[w]), 0.25) : num(row[w]);
          acc[j]![0] += mean * weight;
          acc[j]![1] += weight;
        });
      }
    }
  }
  for (const [key, acc] of weights) {
    const row = merged.get(key)!;
    weighted.forEach(([c], j) => (row[c] = acc[j]![1] > 0 ? Math.round(acc[j]![0] / acc[j]![1]) : 0));
  }
  if (wait !== undefined) {
    for (const [key, row] of merged) {
      const us = waits.get(key) ?? 0;
      row[wait[0]] = Math.floor(us / 1_000_000);
      row[wait[1]] = us % 1_000_000;
    }
  }
  return [...merged.values()];
}

/** `c17` on worker 2 → `w2:c17`; empty links stay empty. */
export function workerPtr(worker: number, ptr: Cell | undefined): Cell {
  return typeof ptr === 'string' && ptr !== '' ? `w${worker}:${ptr}` : (ptr ?? null);
}

function concatConnections(columns: readonly Column[], results: readonly { worker: number; result: { rows: readonly (readonly Cell[])[] } }[]): Cell[][] {
  const ptr = index(columns, 'ptr');
  const link = index(columns, 'link');
  const tenants: Cell[][] = [];
  const consoles: Cell[][] = [];
  for (const { worker, result } of results) {
    for (const row of result.rows) {
      const out = [...row];
      out[ptr] = workerPtr(worker, row[ptr]);
      out[link] = workerPtr(worker, row[link]);
      // As on one process: tenant clients first, then the console sessions (ptr a<n>).
      (typeof row[ptr] === 'string' && row[ptr].startsWith('a') ? consoles : tenants).push(out);
    }
  }
  return [...tenants, ...consoles];
}
