// SHOW LISTS: internal list sizes, the rows PgBouncer 1.18 reports (usage docs, "SHOW LISTS") so an
// exporter finds every name it knows. We have no object caches or DNS cache: free_* and dns_* are 0.
import type { AdminHost } from './host.ts';
import { cols, INT4, rows, TEXT, type AdminReply } from './result.ts';

export const SHOW_LISTS_COLUMNS = cols(['list', TEXT], ['items', INT4]);

export function showLists(host: AdminHost): AdminReply {
  const tenants = [...host.snapshot().byId.values()];
  let pools = 0;
  let servers = 0;
  for (const t of tenants) {
    const p = host.pool(t.id);
    if (p === undefined) continue;
    pools++;
    servers += p.listServers().length;
  }
  const users = new Set(tenants.map((t) => t.user));
  return rows(SHOW_LISTS_COLUMNS, [
    ['databases', tenants.length],
    ['users', users.size],
    ['pools', pools],
    ['free_clients', 0],
    ['used_clients', host.clientList().length + host.adminSessionList().length],
    ['login_clients', 0],
    ['free_servers', 0],
    ['used_servers', servers],
    ['dns_names', 0],
    ['dns_zones', 0],
    ['dns_queries', 0],
    ['dns_pending', 0],
  ]);
}
