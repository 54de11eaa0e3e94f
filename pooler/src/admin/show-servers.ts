// SHOW SERVERS: every server connection of every tenant pool. state: `active` (linked to a
// client), `idle` (in the pool), `tested` (being reset after its client left: ROLLBACK / DISCARD
// ALL, backend/reset.ts). close_needed is 1 for connections retired by RECONNECT, PAUSE or a
// target change (closed when released). remote_pid is the PostgreSQL backend's process id.
import type { Pool } from '../backend/pool.ts';
import type { AdminHost } from './host.ts';
import { readerPoolViews } from './reader-pools.ts';
import { addressCells, clientPtr, CONNECTION_COLUMNS, serverPtr, tlsOf } from './connection-columns.ts';
import { pgbouncerTime, rows, type AdminReply, type Cell } from './result.ts';
import { serverHolders } from './tenant-view.ts';

export function showServers(host: AdminHost): AdminReply {
  const holders = serverHolders(host);
  const out: Cell[][] = [];
  const pools: { name: string; pool: Pool }[] = [];
  for (const route of host.snapshot().byId.values()) {
    const pool = host.pool(route.id);
    if (pool !== undefined) pools.push({ name: route.id, pool });
  }
  // The read endpoints' reader pools (admin/reader-pools.ts): database `<tenant>@<host>:<port>`.
  for (const r of readerPoolViews(host, holders)) pools.push({ name: r.name, pool: r.pool });
  for (const { name, pool } of pools) {
    for (const { server, idle, parked } of pool.listServers()) {
      const holder = holders.get(server);
      const [, , localAddr, localPort] = addressCells(server.socket);
      out.push([
        'S',
        pool.target.user,
        name,
        // Parked (lazy reset, backend/pool.ts): PgBouncer's 'used', idle but to be cleaned before reuse.
        parked ? 'used' : idle ? 'idle' : holder !== undefined ? 'active' : 'tested',
        server.host,
        server.port,
        localAddr,
        localPort,
        pgbouncerTime(server.createdAt),
        pgbouncerTime(server.idleSince),
        0,
        0,
        server.retired ? 1 : 0,
        serverPtr(server.id),
        holder === undefined ? '' : clientPtr(holder.id),
        server.processId,
        tlsOf(server.socket),
        '',
      ]);
    }
  }
  return rows(CONNECTION_COLUMNS, out);
}
