// What PostgreSQL itself sees of a tenant: the backends of its destination role, asked directly
// as the superuser (bypassing the pooler), so a test can tell which server connections the pooler
// holds, closed or kept.
import type { PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly } from './clients.ts';
import { superuserConn, type TestTenant } from './tenants.ts';

/** The pids of `tenant`'s destination-role backends, in order. */
export async function destinationBackendPids(pg: PostgresServer, tenant: TestTenant): Promise<number[]> {
  const su = await connectPg(superuserConn(pg));
  try {
    const r = await su.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE usename = $1 ORDER BY pid', [tenant.destination.user]);
    return r.rows.map((x) => x.pid);
  } finally {
    await endQuietly(su);
  }
}
