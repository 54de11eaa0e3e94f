// RECONNECT [db] (PgBouncer usage docs, "RECONNECT"): closes each server connection of the
// tenant(s) as soon as it is released — idle ones now, busy ones when their transaction ends —
// so the next transactions run on fresh connections (e.g. after changing server settings or
// rotating the destination password). Clients are not affected and the command does not wait.
import type { AdminHost } from './host.ts';
import { resolveTenants } from './resolve.ts';
import { tag, type AdminReply } from './result.ts';

export function reconnect(host: AdminHost, db: string | undefined): AdminReply {
  host.reconnect(db === undefined ? undefined : resolveTenants(host, db));
  return tag('RECONNECT');
}
