// One pass over the pooler's clients and pools, grouped per tenant, shared by the SHOW commands
// that count per tenant (POOLS, DATABASES, LISTS). Admin queries are rare; clarity over speed.
import type { ServerConnection } from '../backend/server.ts';
import type { TenantRoute } from '../config/snapshot.ts';
import type { ClientConnection } from '../frontend/client.ts';
import type { AdminHost } from './host.ts';

export interface TenantView {
  readonly route: TenantRoute;
  readonly clients: ClientConnection[];
  /** Clients queued for a server connection. */
  readonly waiting: number;
  /** Longest current wait, ms. */
  readonly maxWaitMs: number;
  /** Server connections linked to one of the tenant's clients. */
  readonly serversActive: number;
  /** Server connections neither idle nor linked to a client (being reset after a client left). */
  readonly serversTesting: number;
  readonly serversIdle: number;
  readonly serversConnecting: number;
  readonly paused: boolean;
}

/** The client holding each server connection (for SHOW SERVERS' link and the active/testing split). */
export function serverHolders(host: AdminHost): Map<ServerConnection, ClientConnection> {
  const m = new Map<ServerConnection, ClientConnection>();
  for (const c of host.clientList()) if (c.server !== null) m.set(c.server, c);
  return m;
}

export function tenantViews(host: AdminHost): TenantView[] {
  const byTenant = new Map<string, ClientConnection[]>();
  for (const c of host.clientList()) {
    const id = c.route?.id;
    if (id === undefined) continue;
    let list = byTenant.get(id);
    if (list === undefined) byTenant.set(id, (list = []));
    list.push(c);
  }
  const holders = serverHolders(host);
  const out: TenantView[] = [];
  for (const route of host.snapshot().byId.values()) {
    const clients = byTenant.get(route.id) ?? [];
    const pool = host.pool(route.id);
    let waiting = 0;
    let maxWaitMs = 0;
    let serversActive = 0;
    let serversTesting = 0;
    let serversIdle = 0;
    if (pool !== undefined) {
      for (const c of clients) {
        const w = pool.waitedMs(c);
        if (w === undefined) continue;
        waiting++;
        if (w > maxWaitMs) maxWaitMs = w;
      }
      for (const { server, idle } of pool.listServers()) {
        if (idle) serversIdle++;
        else if (holders.has(server)) serversActive++;
        else serversTesting++;
      }
    }
    out.push({
      route,
      clients,
      waiting,
      maxWaitMs,
      serversActive,
      serversTesting,
      serversIdle,
      serversConnecting: pool?.stats().serversConnecting ?? 0,
      paused: host.isPaused(route.id),
    });
  }
  return out;
}
