// PAUSE [db] and RESUME [db] (PgBouncer usage docs, "PAUSE"): PAUSE stops handing out server
// connections for the tenant(s) — clients stay connected and their next transactions queue —
// retires every server connection (idle ones close now, busy ones when their transaction ends,
// in session mode when their client leaves) and answers only once all of them are closed, so
// the database behind can be restarted safely. RESUME lets the queued clients go on. Queued
// clients are still bounded by checkout_timeout. Without a db: every tenant (and tenants that
// appear by reload while the global pause lasts).
import type { AdminHost } from './host.ts';
import { allTenants, resolveTenants } from './resolve.ts';
import { AdminError, tag, type AdminReply } from './result.ts';

export async function pause(host: AdminHost, db: string | undefined): Promise<AdminReply> {
  if (host.draining) throw new AdminError('SHUTTING_DOWN', 'the pooler is shutting down');
  await host.pause(db === undefined ? undefined : resolveTenants(host, db));
  return tag('PAUSE');
}

export function resume(host: AdminHost, db: string | undefined): AdminReply {
  if (db === undefined) {
    const paused = allTenants(host).filter((id) => host.isPaused(id));
    host.resume();
    if (paused.length === 0) throw new AdminError('NOT_PAUSED', 'no database is paused');
    return tag('RESUME');
  }
  const ids = resolveTenants(host, db).filter((id) => host.isPaused(id));
  if (ids.length === 0) throw new AdminError('NOT_PAUSED', `database ${db} is not paused`);
  host.resume(ids);
  return tag('RESUME');
}
