// SHOW DATABASES: one row per tenant (PgBouncer usage docs, "SHOW DATABASES"; columns and types of
// PgBouncer 1.18). name is the tenant id; host/port/database/force_user are its destination;
// pool_size and max_connections are both pool.size (our hard limit of server connections);
// current_connections counts its open server connections; disabled is 1 for a suspended tenant.
import type { AdminHost } from './host.ts';
import { cols, INT4, rows, TEXT, type AdminReply } from './result.ts';
import { tenantViews } from './tenant-view.ts';

export const SHOW_DATABASES_COLUMNS = cols(
  ['name', TEXT],
  ['host', TEXT],
  ['port', INT4],
  ['database', TEXT],
  ['force_user', TEXT],
  ['pool_size', INT4],
  ['min_pool_size', INT4],
  ['reserve_pool', INT4],
  ['pool_mode', TEXT],
  ['max_connections', INT4],
  ['current_connections', INT4],
  ['paused', INT4],
  ['disabled', INT4],
);

export function showDatabases(host: AdminHost): AdminReply {
  return rows(
    SHOW_DATABASES_COLUMNS,
    tenantViews(host).map((t) => {
      const r = t.route;
      return [
        r.id,
        r.target.host,
        r.target.port,
        r.target.database,
        r.target.user,
        r.pool.size,
        r.pool.min_idle,
        0,
        r.pool.mode,
        r.pool.size,
        t.serversActive + t.serversTesting + t.serversIdle + t.serversConnecting,
        t.paused ? 1 : 0,
        r.status === 'active' ? 0 : 1,
      ];
    }),
  );
}
