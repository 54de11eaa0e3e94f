// Figures read from a tenant's destination database: its size (pg_database_size; for
// schema-per-tenant also the schema's relations, pg_total_relation_size = table + indexes + TOAST)
// and the destination role's sessions in it by state (pg_stat_activity; PostgreSQL docs,
// "The Cumulative Statistics System"). Run in the destination database.
import type { PgSession } from './pg-target.ts';

export interface ConnectionCounts {
  total: number;
  active: number;
  idle: number;
  idleInTransaction: number;
}

export interface TargetMetrics {
  databaseSizeBytes: number;
  schemaSizeBytes?: number;
  connections: ConnectionCounts;
}

export async function readTargetMetrics(s: PgSession, spec: { database: string; user: string; schema?: string | undefined }): Promise<TargetMetrics> {
  // bigint arrives as a string (node-postgres does not narrow int8); sizes fit a double exactly
  // up to 8 PiB.
  const size = await s.query<{ bytes: string }>('SELECT pg_database_size($1)::text AS bytes', [spec.database]);
  const conns = await s.query<{ total: number; active: number; idle: number; idle_in_transaction: number }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE state = 'active')::int AS active,
            count(*) FILTER (WHERE state = 'idle')::int AS idle,
            count(*) FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)'))::int AS idle_in_transaction
       FROM pg_stat_activity
      WHERE datname = $1 AND usename = $2 AND pid <> pg_backend_pid()`,
    [spec.database, spec.user],
  );
  const c = conns.rows[0];
  const out: TargetMetrics = {
    databaseSizeBytes: Number(size.rows[0]?.bytes ?? 0),
    connections: { total: c?.total ?? 0, active: c?.active ?? 0, idle: c?.idle ?? 0, idleInTransaction: c?.idle_in_transaction ?? 0 },
  };
  if (spec.schema !== undefined) {
    const r = await s.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [spec.schema],
    );
    out.schemaSizeBytes = Number(r.rows[0]?.bytes ?? 0);
  }
  return out;
}
