// Two tenants behind one pooler are isolated: each lands on its own destination database as its
// own role, and one tenant's credentials cannot reach the other's database (a (database, user)
// pair that is not a tenant is refused with a FATAL, even with a correct password for either side).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, psql, rejectionOf } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  a = await createTenant(pg, { id: 'tenant-a', pool: { mode: 'transaction', size: 2 } });
  // Session mode: each of B's three interleaved clients holds its own server connection.
  b = await createTenant(pg, { id: 'tenant-b', pool: { mode: 'session', size: 3 } });
  for (const t of [a, b]) {
    const r = await psql(destinationConn(t), `CREATE TABLE owner_marker (tenant text); INSERT INTO owner_marker VALUES ('${t.id}');`);
    expect(r.code, r.stderr).toBe(0);
  }
  pooler = await startPooler(poolerConfig([a.config, b.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** Codes a refused login may carry: unknown pair (28000/3D000) or, indistinguishable from a wrong password, 28P01. */
const REFUSED_LOGIN = ['28000', '3D000', '28P01'];

describe('routing', () => {
  it('sends each tenant to its own destination database and role', async () => {
    for (const t of [a, b]) {
      const c = await connectPg(poolerConn(pooler!, t));
      try {
        const r = await c.query<{ db: string; usr: string; marker: string }>(
          'SELECT current_database() AS db, current_user AS usr, (SELECT tenant FROM owner_marker) AS marker',
        );
        expect(r.rows).toEqual([{ db: t.destination.database, usr: t.destination.user, marker: t.id }]);
      } finally {
        await c.end();
      }
    }
  });

  it('keeps routing right with both tenants’ clients interleaved', async () => {
    const clients = await Promise.all([a, b, a, b, a, b].map((t) => connectPg(poolerConn(pooler!, t)).then((c) => ({ t, c }))));
    try {
      for (let round = 0; round < 5; round++) {
        await Promise.all(
          clients.map(async ({ t, c }) => {
            const r = await c.query<{ db: string; marker: string }>('SELECT current_database() AS db, (SELECT tenant FROM owner_marker) AS marker');
            expect(r.rows).toEqual([{ db: t.destination.database, marker: t.id }]);
          }),
        );
      }
    } finally {
      await Promise.all(clients.map(({ c }) => endQuietly(c)));
    }
  });
});

describe('cross-tenant logins are refused', () => {
  const cases: Array<[string, () => { database: string; user: string; password: string }]> = [
    ["A's user and password, B's database", () => ({ database: b.clientDatabase, user: a.clientUser, password: a.clientPassword })],
    ["A's user, B's password, B's database", () => ({ database: b.clientDatabase, user: a.clientUser, password: b.clientPassword })],
    ["B's user and password, A's database", () => ({ database: a.clientDatabase, user: b.clientUser, password: b.clientPassword })],
    ["A's user and database with B's password", () => ({ database: a.clientDatabase, user: a.clientUser, password: b.clientPassword })],
    // The destination's own names are not client logins.
    ["A's destination database and role", () => ({ database: a.destination.database, user: a.destination.user, password: a.destination.password })],
  ];

  it.each(cases)('%s → FATAL', async (_name, creds) => {
    const err = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, a, creds()))));
    console.info(`refused login: ${err.code} ${err.severity} ${err.message}`);
    expect(err.severity).toBe('FATAL');
    expect(REFUSED_LOGIN).toContain(err.code);
    expect(err.message).toMatch(/password|authentication|user|database|tenant|authoriz/i);
  });

  it('refuses the same way through psql', async () => {
    const r = await psql(poolerConn(pooler!, a, { database: b.clientDatabase }), 'SELECT 1;');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FATAL/);
    expect(r.stdout).toBe('');
  });
});
