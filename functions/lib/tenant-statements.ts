// GET /tenants/{id}/statements: the tenant's statement shapes merged over the live poolers'
// heartbeats (shared/src/domain/heartbeat.ts). Each pooler (worker) reports its own heaviest
// shapes since its start; identical normalized texts are summed (calls, time), the mean is
// recomputed from the sums, the longest call kept, and the heaviest `limit` returned.
import { z } from 'zod';
import { isoTimestampSchema, tenantIdSchema } from '../../shared/src/domain/common.ts';
import type { PoolerHeartbeat } from '../../shared/src/domain/heartbeat.ts';

/** Merged shapes returned (each pooler reports at most HEARTBEAT_SHAPES_PER_TENANT). */
export const STATEMENTS_LIMIT = 10;

export const mergedStatementSchema = z.object({
  /** Normalized text: literals and numbers are ?, `$n` parameters kept; cut to 500 bytes (ends with …). */
  text: z.string(),
  calls: z.number().int().nonnegative(),
  totalMs: z.number().nonnegative(),
  /** totalMs / calls over every pooler that reported the text. */
  meanMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
  /** Poolers whose heartbeat listed this text. */
  poolers: z.number().int().positive(),
});

export const tenantStatementsSchema = z.object({
  tenantId: tenantIdSchema,
  /** Live poolers (heartbeat within the last 300 s) that reported shapes for the tenant. */
  poolers: z.number().int().nonnegative(),
  /**
   * The window the figures cover: from the earliest start (statsSince) of those poolers — each
   * pooler counts since its own start, restarting from zero when it restarts — to their latest
   * heartbeat. Absent when no pooler reported shapes.
   */
  window: z.object({ since: isoTimestampSchema, until: isoTimestampSchema }).optional(),
  statements: z.array(mergedStatementSchema),
});
export type TenantStatements = z.infer<typeof tenantStatementsSchema>;
type Merged = z.infer<typeof mergedStatementSchema>;

/** Merges the shapes `heartbeats` (already the live ones) report for `tenantId`. */
export function mergeStatements(tenantId: string, heartbeats: readonly PoolerHeartbeat[], limit: number = STATEMENTS_LIMIT): TenantStatements {
  const byText = new Map<string, Merged>();
  let poolers = 0;
  let since: string | undefined;
  let until: string | undefined;
  for (const h of heartbeats) {
    const shapes = Object.hasOwn(h.statements, tenantId) ? h.statements[tenantId] : undefined;
    if (shapes === undefined || shapes.length === 0) continue;
    poolers++;
    const from = h.statsSince ?? h.lastSeen;
    if (since === undefined || Date.parse(from) < Date.parse(since)) since = from;
    if (until === undefined || Date.parse(h.lastSeen) > Date.parse(until)) until = h.lastSeen;
    for (const s of shapes) {
      const m = byText.get(s.text);
      if (m === undefined) byText.set(s.text, { text: s.text, calls: s.calls, totalMs: s.totalMs, meanMs: 0, maxMs: s.maxMs, poolers: 1 });
      else {
        m.calls += s.calls;
        m.totalMs += s.totalMs;
        m.maxMs = Math.max(m.maxMs, s.maxMs);
        m.poolers++;
      }
    }
  }
  const statements = [...byText.values()]
    .sort((a, b) => b.totalMs - a.totalMs || (a.text < b.text ? -1 : 1))
    .slice(0, limit)
    .map((m) => ({ ...m, meanMs: m.calls > 0 ? m.totalMs / m.calls : 0 }));
  return { tenantId, poolers, ...(since !== undefined && until !== undefined ? { window: { since, until } } : {}), statements };
}
