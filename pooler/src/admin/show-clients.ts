// SHOW CLIENTS: every logged-in client connection, then the admin console sessions (PgBouncer lists
// its console clients too). `database` is the tenant id (docs/admin.md); state is `active` or
// `waiting` (queued for a server connection); wait/wait_us is how long it has been queued.
// request_time is the connect time for tenant clients: the proxy does not timestamp requests.
// `pinned`, after PgBouncer's columns: the reason a client is pinned (docs/transaction-mode.md).
import type { AdminHost } from './host.ts';
import { addressCells, adminPtr, clientPtr, CONNECTION_COLUMNS, serverPtr, tlsOf } from './connection-columns.ts';
import { cols, pgbouncerTime, rows, TEXT, type AdminReply, type Cell } from './result.ts';

/** PgBouncer's columns, then `pinned`: why a transaction-mode client holds its server connection (frontend/pin.ts), or ''. */
const CLIENT_COLUMNS = [...CONNECTION_COLUMNS, ...cols(['pinned', TEXT])];

/** The client's application_name as it was last reported to it (ParameterStatus), '' if none. */
function applicationName(c: object): string {
  // frontend/client.ts keeps the parameters it reported in `params` (a Map); read it defensively.
  const params = (c as { params?: unknown }).params;
  const v: unknown = params instanceof Map ? params.get('application_name') : undefined;
  return typeof v === 'string' ? v : '';
}

export function showClients(host: AdminHost): AdminReply {
  const out: Cell[][] = [];
  for (const c of host.clientList()) {
    const route = c.route;
    if (route === null) continue;
    const waitedMs = host.pool(route.id)?.waitedMs(c);
    const waitUs = waitedMs === undefined ? 0 : Math.round(waitedMs * 1000);
    out.push([
      'C',
      route.user,
      route.id,
      waitedMs === undefined ? 'active' : 'waiting',
      ...addressCells(c.socket),
      pgbouncerTime(c.connectedAt),
      pgbouncerTime(c.connectedAt),
      Math.floor(waitUs / 1_000_000),
      waitUs % 1_000_000,
      0,
      clientPtr(c.id),
      c.server === null ? '' : serverPtr(c.server.id),
      0,
      tlsOf(c.socket),
      applicationName(c),
      c.pin?.reason ?? '',
    ]);
  }
  for (const a of host.adminSessionList()) {
    out.push([
      'C',
      a.user,
      a.database,
      'active',
      ...addressCells(a.socket),
      pgbouncerTime(a.connectedAt),
      pgbouncerTime(a.lastRequestAt),
      0,
      0,
      0,
      adminPtr(a.id),
      '',
      0,
      tlsOf(a.socket),
      a.applicationName,
      '',
    ]);
  }
  return rows(CLIENT_COLUMNS, out);
}
