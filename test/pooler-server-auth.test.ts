// Server-side authentication: the pooler logs in to PostgreSQL as the tenant's destination role
// whether PostgreSQL verifies that role with SCRAM-SHA-256 or with md5 (roles in md5_users, see the
// test server's pg_hba.conf), independently of how the client authenticated to the pooler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, testLogger, type AuthKind, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const combos: Array<[AuthKind, AuthKind]> = [
  ['scram', 'scram'],
  ['scram', 'md5'],
  ['md5', 'md5'],
  ['md5', 'scram'],
];
const tenants = new Map<string, TestTenant>();

beforeAll(async () => {
  pg = await startPostgres();
  for (const [clientAuth, serverAuth] of combos) {
    const t = await createTenant(pg, { id: `auth-${clientAuth}-${serverAuth}`, clientAuth, serverAuth, pool: { size: 2 } });
    tenants.set(`${clientAuth}/${serverAuth}`, t);
  }
  pooler = await startPooler(poolerConfig([...tenants.values()].map((t) => t.config)), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe.each(combos)('client %s, server %s', (clientAuth, serverAuth) => {
  it('the destination role really is verified that way by PostgreSQL', async () => {
    const t = tenants.get(`${clientAuth}/${serverAuth}`)!;
    const admin = await connectPg(superuserConn(pg));
    try {
      const r = await admin.query<{ kind: string; md5_member: boolean }>(
        `SELECT CASE WHEN rolpassword LIKE 'md5%' THEN 'md5' WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' END AS kind,
                pg_has_role(rolname, 'md5_users', 'MEMBER') AS md5_member
           FROM pg_authid WHERE rolname = $1`,
        [t.destination.user],
      );
      expect(r.rows).toEqual([{ kind: serverAuth, md5_member: serverAuth === 'md5' }]);
    } finally {
      await admin.end();
    }
  });

  it('connects to PostgreSQL as the destination role and serves several clients', async () => {
    const t = tenants.get(`${clientAuth}/${serverAuth}`)!;
    const clients: PgClient[] = [];
    try {
      for (let i = 0; i < 4; i++) clients.push(await connectPg(poolerConn(pooler!, t)));
      const rows = await Promise.all(
        clients.map((c, i) => c.query<{ usr: string; db: string; v: number }>('SELECT current_user AS usr, current_database() AS db, $1::int AS v', [i])),
      );
      for (const [i, r] of rows.entries()) expect(r.rows).toEqual([{ usr: t.destination.user, db: t.destination.database, v: i }]);
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });
});
