// The statement shapes a heartbeat carries (shared/src/domain/heartbeat.ts; the control plane's
// GET /tenants/{id}/statements merges them over the poolers). The texts are the normalized ones of
// SHOW STATEMENTS (statement-shapes.ts: literals are ? before anything is kept), cut to a byte bound.
// Fair over tenants under the total bound: every tenant's heaviest shape first (tenants with the
// most time in it first), then every tenant's second, and so on, so one tenant's long tail never
// crowds out another tenant's top statement.
import {
  cutUtf8,
  HEARTBEAT_SHAPES_PER_TENANT,
  HEARTBEAT_SHAPES_TOTAL,
  type StatementShape,
} from '../../../shared/src/domain/heartbeat.ts';
import type { TenantLatency } from './latency.ts';

export function heartbeatStatements(
  latency: ReadonlyMap<string, TenantLatency>,
  configured: (tenantId: string) => boolean,
  perTenant: number = HEARTBEAT_SHAPES_PER_TENANT,
  total: number = HEARTBEAT_SHAPES_TOTAL,
): Record<string, StatementShape[]> {
  const lists: Array<[string, StatementShape[]]> = [];
  for (const [id, t] of latency) {
    if (!configured(id)) continue;
    const top = t.shapes.top().filter((s) => s.calls > 0).slice(0, perTenant);
    if (top.length > 0) lists.push([id, top.map((s) => ({ text: cutUtf8(s.text), calls: s.calls, totalMs: s.totalMs, maxMs: s.maxMs }))]);
  }
  lists.sort((a, b) => b[1][0]!.totalMs - a[1][0]!.totalMs);
  const out = new Map<string, StatementShape[]>();
  let left = total;
  for (let rank = 0; left > 0; rank++) {
    let any = false;
    for (const [id, l] of lists) {
      const s = l[rank];
      if (s === undefined) continue;
      any = true;
      let kept = out.get(id);
      if (kept === undefined) out.set(id, (kept = []));
      kept.push(s);
      if (--left === 0) break;
    }
    if (!any) break;
  }
  return Object.fromEntries(out);
}
