// SHOW POOLS: one row per tenant (PgBouncer: per (database, user) pool; a tenant is exactly one
// such pair). Columns and types of PgBouncer 1.18 (PgBouncer usage docs, "SHOW POOLS"); the
// cancel-request columns and sv_used are always 0 (we forward cancels at once and do not run a
// server_check_query), sv_tested counts connections being reset after their client left.
import type { AdminHost } from './host.ts';
import { readerPoolViews } from './reader-pools.ts';
import { cols, INT4, rows, TEXT, type AdminReply, type Cell } from './result.ts';
import { serverHolders, tenantViews } from './tenant-view.ts';

export const SHOW_POOLS_COLUMNS = cols(
  ['database', TEXT],
  ['user', TEXT],
  ['cl_active', INT4],
  ['cl_waiting', INT4],
  ['cl_active_cancel_req', INT4],
  ['cl_waiting_cancel_req', INT4],
  ['sv_active', INT4],
  ['sv_active_cancel', INT4],
  ['sv_being_canceled', INT4],
  ['sv_idle', INT4],
  ['sv_used', INT4],
  ['sv_tested', INT4],
  ['sv_login', INT4],
  ['maxwait', INT4],
  ['maxwait_us', INT4],
  ['pool_mode', TEXT],
);

export function showPools(host: AdminHost): AdminReply {
  return rows(SHOW_POOLS_COLUMNS, [...tenantRows(host), ...readerRows(host)]);
}

/** The read endpoints' reader pools (admin/reader-pools.ts): database `<tenant>@<host>:<port>`. */
function readerRows(host: AdminHost): Cell[][] {
  return readerPoolViews(host, serverHolders(host)).map((r) => {
    const waitUs = Math.round(r.maxWaitMs * 1000);
    const s = r.pool.stats();
    return [r.name, r.pool.target.user, r.clientsActive, r.clientsWaiting, 0, 0, r.serversActive, 0, 0, r.serversIdle, 0, r.serversTesting, s.serversConnecting, Math.floor(waitUs / 1_000_000), waitUs % 1_000_000, s.mode];
  });
}

function tenantRows(host: AdminHost): Cell[][] {
  return (
    tenantViews(host).map((t) => {
      const waitUs = Math.round(t.maxWaitMs * 1000);
      return [
        t.route.id,
        t.route.user,
        t.clients.length - t.waiting,
        t.waiting,
        0,
        0,
        t.serversActive,
        0,
        0,
        t.serversIdle,
        0,
        t.serversTesting,
        t.serversConnecting,
        Math.floor(waitUs / 1_000_000),
        waitUs % 1_000_000,
        t.route.pool.mode,
      ];
    })
  );
}
