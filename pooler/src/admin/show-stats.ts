// SHOW STATS, SHOW STATS_TOTALS, SHOW STATS_AVERAGES: traffic per tenant (PgBouncer usage docs,
// "SHOW STATS"). Columns and types of PgBouncer 1.18 (its 64-bit counters travel as numeric).
// Times in microseconds, as PgBouncer's: total_wait_time (queued checkouts), total_xact_time and
// total_query_time (the client connection's timing at server link and ReadyForQuery,
// stats/latency.ts, which also counts the queries); avg_xact_time / avg_query_time are the mean
// durations over the last period, the other avg_* per-second rates (stats/averages.ts, docs/admin.md).
import type { AdminHost } from './host.ts';
import { cols, NUMERIC, rows, TEXT, type AdminReply, type Cell } from './result.ts';
import { emptyTotals, type TenantTotals } from '../stats/totals.ts';

export const SHOW_STATS_COLUMNS = cols(
  ['database', TEXT],
  ['total_xact_count', NUMERIC],
  ['total_query_count', NUMERIC],
  ['total_received', NUMERIC],
  ['total_sent', NUMERIC],
  ['total_xact_time', NUMERIC],
  ['total_query_time', NUMERIC],
  ['total_wait_time', NUMERIC],
  ['avg_xact_count', NUMERIC],
  ['avg_query_count', NUMERIC],
  ['avg_recv', NUMERIC],
  ['avg_sent', NUMERIC],
  ['avg_xact_time', NUMERIC],
  ['avg_query_time', NUMERIC],
  ['avg_wait_time', NUMERIC],
);

/** Shared by STATS_TOTALS and STATS_AVERAGES. */
export const SHOW_STATS_SPLIT_COLUMNS = cols(
  ['database', TEXT],
  ['xact_count', NUMERIC],
  ['query_count', NUMERIC],
  ['bytes_received', NUMERIC],
  ['bytes_sent', NUMERIC],
  ['xact_time', NUMERIC],
  ['query_time', NUMERIC],
  ['wait_time', NUMERIC],
);

/** count, count, bytes in, bytes out, xact time, query time, wait time. */
function seven(t: TenantTotals): Cell[] {
  return [t.transactions, t.queries, t.bytesIn, t.bytesOut, Math.round(t.xactUs), Math.round(t.queryUs), Math.round(t.waitUs)];
}

function perTenant(host: AdminHost, f: (id: string, totals: TenantTotals, avg: TenantTotals) => Cell[]): Cell[][] {
  const totals = host.tenantTotals();
  const avg = host.statsAverages();
  return [...host.snapshot().byId.keys()].map((id) => [id, ...f(id, totals.get(id) ?? emptyTotals(), avg.get(id) ?? emptyTotals())]);
}

export function showStats(host: AdminHost): AdminReply {
  return rows(SHOW_STATS_COLUMNS, perTenant(host, (_id, t, a) => [...seven(t), ...seven(a)]));
}

export function showStatsTotals(host: AdminHost): AdminReply {
  return rows(SHOW_STATS_SPLIT_COLUMNS, perTenant(host, (_id, t) => seven(t)));
}

export function showStatsAverages(host: AdminHost): AdminReply {
  return rows(SHOW_STATS_SPLIT_COLUMNS, perTenant(host, (_id, _t, a) => seven(a)));
}
