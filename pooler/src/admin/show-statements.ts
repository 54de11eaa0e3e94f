// SHOW STATEMENTS: per tenant, the normalized statement texts that took the most query time
// (stats/statement-shapes.ts; docs/admin.md). Not a PgBouncer command; its columns follow
// pg_stat_statements' names where they exist (calls, total time, mean, max), in PgBouncer's time
// unit (µs), most total time first within each tenant.
import type { AdminHost } from './host.ts';
import { cols, NUMERIC, rows, TEXT, type AdminReply, type Cell } from './result.ts';

export const SHOW_STATEMENTS_COLUMNS = cols(
  ['database', TEXT],
  ['calls', NUMERIC],
  ['total_time', NUMERIC],
  ['avg_time', NUMERIC],
  ['max_time', NUMERIC],
  ['query', TEXT],
);

export function showStatements(host: AdminHost): AdminReply {
  const latency = host.tenantLatency();
  const out: Cell[][] = [];
  for (const id of host.snapshot().byId.keys()) {
    for (const s of latency.get(id)?.shapes.top() ?? []) {
      if (s.calls === 0) continue;
      out.push([id, s.calls, Math.round(s.totalMs * 1000), Math.round((s.totalMs * 1000) / s.calls), Math.round(s.maxMs * 1000), s.text]);
    }
  }
  return rows(SHOW_STATEMENTS_COLUMNS, out);
}
