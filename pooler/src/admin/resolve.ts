// "db" arguments of PAUSE/RESUME/RECONNECT/KILL. In Switchyard a PgBouncer "database" is a tenant:
// the argument is a tenant id, or a client-facing database name (which may belong to several
// tenants that differ by user; all of them are meant).
import type { AdminHost } from './host.ts';
import { AdminError } from './result.ts';

export function resolveTenants(host: AdminHost, name: string): string[] {
  const snap = host.snapshot();
  if (snap.byId.has(name)) return [name];
  const ids = [...snap.byId.values()].filter((r) => r.database === name).map((r) => r.id);
  if (ids.length === 0) throw new AdminError('NO_SUCH_DATABASE', `no such database: ${name}`, 'name a tenant id or a client-facing database name (SHOW DATABASES)');
  return ids;
}

/** All tenant ids of the current snapshot. */
export function allTenants(host: AdminHost): string[] {
  return [...host.snapshot().byId.keys()];
}
