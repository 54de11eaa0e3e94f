// A tenant's `schema` becomes its server connections' search_path: `SHOW search_path` through the
// pooler names it and unqualified names resolve in it, in transaction and session mode, while a
// tenant without a schema keeps PostgreSQL's default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, psql, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
type Mode = 'transaction' | 'session';

let pg: PostgresServer;
let pooler: Pooler | undefined;
const withSchema = {} as Record<Mode, TestTenant>;
let noSchema: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  withSchema.transaction = await createTenant(pg, { id: 'schema-txn', schema: 'tenant_space', pool: { mode: 'transaction', size: 1 } });
  withSchema.session = await createTenant(pg, { id: 'schema-session', schema: 'tenant_space', pool: { mode: 'session', size: 2 } });
  noSchema = await createTenant(pg, { id: 'no-schema', pool: { mode: 'transaction', size: 1 } });
  pooler = await startPooler(poolerConfig([withSchema.transaction.config, withSchema.session.config, noSchema.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** search_path as a list of names, unquoted (SHOW may quote or add entries such as "$user"). */
function searchPathList(value: string): string[] {
  return value.split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
}

describe.each(['transaction', 'session'] as const)('tenant with a schema (%s mode)', (mode) => {
  it('puts the schema first on search_path and resolves unqualified names there', async () => {
    const t = withSchema[mode];
    const clients: PgClient[] = [];
    try {
      // More clients than server connections, each checking on every query. In session mode a
      // client holds its server connection until it disconnects, so each ends when done.
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          const c = await connectPg(poolerConn(pooler!, t));
          clients.push(c);
          for (let round = 0; round < 3; round++) {
            const sp = await c.query<{ search_path: string }>('SHOW search_path');
            expect(searchPathList(sp.rows[0]?.search_path ?? '')[0]).toBe('tenant_space');
            const cur = await c.query<{ s: string }>('SELECT current_schema() AS s');
            expect(cur.rows).toEqual([{ s: 'tenant_space' }]);
            // schema_marker exists only in tenant_space (created by createDestination).
            const marker = await c.query<{ v: string }>('SELECT v FROM schema_marker');
            expect(marker.rows).toEqual([{ v: 'tenant_space' }]);
          }
          await c.end();
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => endQuietly(c)));
    }
  });

  it('shows the schema through psql too', async () => {
    const r = await psql(poolerConn(pooler!, withSchema[mode]), 'SHOW search_path;\nSELECT v FROM schema_marker;\n');
    expect(r.stderr).toBe('');
    const [sp, marker] = r.stdout.trim().split('\n');
    expect(searchPathList(sp ?? '')[0]).toBe('tenant_space');
    expect(marker).toBe('tenant_space');
  });
});

describe('tenant without a schema', () => {
  it('keeps the default search_path', async () => {
    const c = await connectPg(poolerConn(pooler!, noSchema));
    try {
      const sp = await c.query<{ search_path: string }>('SHOW search_path');
      expect(sp.rows[0]?.search_path).toBe('"$user", public');
    } finally {
      await c.end();
    }
  });
});
