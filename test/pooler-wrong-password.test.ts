// A wrong password is refused with FATAL 28P01 (invalid_password), whether the tenant stores a
// SCRAM-SHA-256 or an md5 verifier, through node-postgres and psql; the right password still works
// afterwards (a failure leaves no state behind).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, pgErrorInfo, psql, rejectionOf } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type AuthKind, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<AuthKind, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.scram = await createTenant(pg, { id: 'pw-scram', clientAuth: 'scram' });
  tenants.md5 = await createTenant(pg, { id: 'pw-md5', clientAuth: 'md5' });
  pooler = await startPooler(poolerConfig([tenants.scram.config, tenants.md5.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe.each(['scram', 'md5'] as const)('tenant with a %s verifier', (kind) => {
  it('refuses a wrong password with FATAL 28P01 (node-postgres)', async () => {
    const t = tenants[kind];
    for (const password of ['wrong-password', t.clientPassword + 'x', t.clientPassword.toUpperCase(), t.destination.password]) {
      const err = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, t, { password }))));
      expect(err).toMatchObject({ code: '28P01', severity: 'FATAL' });
      expect(err.message).toMatch(/password authentication failed/i);
    }
  });

  it('refuses a wrong password through psql (exit 2, FATAL on stderr)', async () => {
    const r = await psql(poolerConn(pooler!, tenants[kind], { password: 'wrong-password' }), 'SELECT 1;');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FATAL: +password authentication failed/);
  });

  it('still accepts the right password after failures', async () => {
    const t = tenants[kind];
    const c = await connectPg(poolerConn(pooler!, t));
    try {
      expect((await c.query<{ db: string }>('SELECT current_database() AS db')).rows).toEqual([{ db: t.destination.database }]);
    } finally {
      await c.end();
    }
  });
});
