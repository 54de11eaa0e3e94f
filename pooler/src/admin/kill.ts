// KILL db (PgBouncer usage docs, "KILL"): disconnects every client and server connection of the
// tenant at once — open transactions are cut (PostgreSQL rolls them back) and clients get FATAL
// 57P01 — and, as in PgBouncer, leaves the tenant paused: new clients can log in but their
// transactions wait until RESUME. A database is required; there is no "kill everything".
import type { AdminHost } from './host.ts';
import { resolveTenants } from './resolve.ts';
import { AdminError, tag, type AdminReply } from './result.ts';

export function kill(host: AdminHost, db: string | undefined): AdminReply {
  if (db === undefined) throw new AdminError('DATABASE_REQUIRED', 'KILL needs a database', 'KILL <tenant id or database name>');
  if (host.draining) throw new AdminError('SHUTTING_DOWN', 'the pooler is shutting down');
  for (const id of resolveTenants(host, db)) host.kill(id);
  return tag('KILL');
}
