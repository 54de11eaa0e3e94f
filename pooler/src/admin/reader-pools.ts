// The read endpoints' reader pools in SHOW POOLS and SHOW SERVERS (docs/admin.md): one row (or one
// row per server connection) per tenant and reader, named `<tenant>@<host>:<port>` in the database
// column, after the tenants' own pools. Clients are counted on the pool their current transaction
// uses (a read client between transactions belongs to no reader).
import type { Pool } from '../backend/pool.ts';
import type { ReadRouter } from '../backend/reader-router.ts';
import type { ServerConnection } from '../backend/server.ts';
import type { ClientConnection } from '../frontend/client.ts';
import type { AdminHost } from './host.ts';

export interface ReaderPoolView {
  /** `<tenant>@<host>:<port>` */
  readonly name: string;
  readonly tenantId: string;
  readonly pool: Pool;
  readonly clientsActive: number;
  readonly clientsWaiting: number;
  readonly maxWaitMs: number;
  readonly serversActive: number;
  readonly serversTesting: number;
  readonly serversIdle: number;
}

/** The routers of a host that has read endpoints (the Pooler); none otherwise. */
function routersOf(host: AdminHost): Iterable<ReadRouter> {
  return host.readRouterList?.() ?? [];
}

export function readerPoolViews(host: AdminHost, holders: ReadonlyMap<ServerConnection, ClientConnection>): ReaderPoolView[] {
  const out: ReaderPoolView[] = [];
  const clients = host.clientList().filter((c) => c.reads !== null);
  for (const router of routersOf(host)) {
    for (const { key, pool } of router.readerPools()) {
      let clientsActive = 0;
      let clientsWaiting = 0;
      let maxWaitMs = 0;
      for (const c of clients) {
        if (c.pool !== pool) continue;
        const w = pool.waitedMs(c);
        if (w === undefined) {
          if (c.server !== null) clientsActive++;
          continue;
        }
        clientsWaiting++;
        if (w > maxWaitMs) maxWaitMs = w;
      }
      let serversActive = 0;
      let serversTesting = 0;
      let serversIdle = 0;
      for (const { server, idle } of pool.listServers()) {
        if (idle) serversIdle++;
        else if (holders.has(server)) serversActive++;
        else serversTesting++;
      }
      out.push({ name: `${router.tenantId}@${key}`, tenantId: router.tenantId, pool, clientsActive, clientsWaiting, maxWaitMs, serversActive, serversTesting, serversIdle });
    }
  }
  return out;
}
