// A bad start-up parameter must not storm the database (issue 10, item 3). PostgreSQL refuses a
// start-up packet whose TimeZone, DateStyle, IntervalStyle, standard_conforming_strings or
// client_encoding it cannot apply with a FATAL at connection time. Before the fix the pooler took
// such a login, and every checkout's hidden SET failed: the server connection was closed and the
// client re-queued, thousands of backend sessions until checkout_timeout. Now:
// - the login gets the FATAL PostgreSQL itself sends (compared field by field with a direct login);
// - a valid value is reported in PostgreSQL's own spelling at login ('utc' → 'UTC');
// - a replay the server refuses later (here: after a reload moved the tenant to a database whose
//   encoding has no conversion from the client_encoding the client SET) gives that client an
//   ERROR per request, never a re-queue;
// - throughout, the backend sessions PostgreSQL counts for the tenant's database
//   (pg_stat_database.sessions, PostgreSQL 14+) stay within the pool size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, psql, within } from '../helpers/clients.ts';
import { errorFields, LoginRefused, ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, superuserConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const POOL_SIZE = 2;
/** Short, so that the storm this test guards against (before the fix) ends within the test's time. */
const CHECKOUT_TIMEOUT = 2;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'bad-startup', pool: { mode: 'transaction', size: POOL_SIZE, checkout_timeout: CHECKOUT_TIMEOUT } });
  // The database a reload moves the tenant to: EUC_JP has no conversion from LATIN1.
  await pg.psql(`CREATE DATABASE ${tenant.destination.database}_eucjp OWNER ${tenant.destination.user} ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** Backend sessions PostgreSQL has counted for `database` (connects, flushed shortly after). */
async function sessionsOf(database: string): Promise<number> {
  const su = await connectPg(superuserConn(pg));
  try {
    const r = await su.query<{ n: string }>('SELECT coalesce(sum(sessions), 0)::text AS n FROM pg_stat_database WHERE datname = $1', [database]);
    return Number(r.rows[0]!.n);
  } finally {
    await endQuietly(su);
  }
}

type LoginOutcome = { refused: Record<string, string> } | { client: ProtocolClient };

async function loginWith(c: Parameters<typeof ProtocolClient.connect>[0], params: Record<string, string>): Promise<LoginOutcome> {
  try {
    return { client: await ProtocolClient.connect(c, params) };
  } catch (err) {
    if (err instanceof LoginRefused) return { refused: err.fields };
    throw err;
  }
}

/** The fields a client acts on (file/line/routine are PostgreSQL's internals). */
function visible(f: Record<string, string>): Record<string, string | undefined> {
  return { S: f.S, V: f.V, C: f.C, M: f.M, D: f.D, H: f.H };
}

const INVALID: Record<string, string>[] = [
  { TimeZone: 'Not/AZone' },
  // libpq sends PGTZ / PGDATESTYLE as these lower-case start-up keys.
  { timezone: 'Not/AZone' },
  { datestyle: 'Bogus' },
  { DateStyle: 'iso, dmy, ymd' },
  { IntervalStyle: 'bogus' },
  { standard_conforming_strings: 'maybe' },
  { client_encoding: 'NOPE' },
  // Valid first, invalid second: PostgreSQL names the invalid one.
  { TimeZone: 'Europe/Paris', DateStyle: 'Bogus' },
];

describe('an invalid tracked start-up parameter', () => {
  it.each(INVALID)('%o: refused at login with PostgreSQL’s own FATAL, no storm of backends', async (params) => {
    const direct = await loginWith(destinationConn(tenant), params);
    expect('refused' in direct, 'PostgreSQL itself refuses this start-up packet').toBe(true);
    const expected = visible((direct as { refused: Record<string, string> }).refused);

    // The pool's connections for the server parameters come first; count from here on.
    const warm = await ProtocolClient.connect(poolerConn(pooler!, tenant));
    await warm.simple('SELECT 1');
    await warm.end();
    const before = await sessionsOf(tenant.destination.database);

    const outcome = await within(loginWith(poolerConn(pooler!, tenant), params), 20_000, 'login through the pooler');
    let firstQuery: string | undefined;
    if ('client' in outcome) {
      // Before the fix: the login succeeded and the first query stormed the server.
      const msgs = await within(outcome.client.request(query('SELECT 1')), 20_000, 'first query').catch((e: Error) => []);
      const err = msgs.find((m) => m.type === 'E');
      firstQuery = err === undefined ? 'answered' : JSON.stringify(errorFields(err.body));
      outcome.client.destroy();
    }
    const after = await sessionsOf(tenant.destination.database);
    expect(after - before, `backend sessions opened for the tenant (first query: ${firstQuery})`).toBeLessThanOrEqual(POOL_SIZE);
    expect('refused' in outcome, `login through the pooler was accepted (first query: ${firstQuery})`).toBe(true);
    expect(visible((outcome as { refused: Record<string, string> }).refused)).toEqual(expected);
  });

  it('psql with PGTZ=Not/AZone gets PostgreSQL’s message', async () => {
    const r = await psql(poolerConn(pooler!, tenant), 'SELECT 1', { env: { PGTZ: 'Not/AZone' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FATAL:  invalid value for parameter "TimeZone": "Not/AZone"');
  });
});

describe('a valid tracked start-up parameter', () => {
  const VALID: Record<string, string>[] = [{ timezone: 'utc' }, { TimeZone: '+05' }, { DateStyle: 'sql' }, { IntervalStyle: 'ISO_8601' }, { standard_conforming_strings: '1' }, { client_encoding: 'latin1' }];
  it.each(VALID)(
    '%o: reported at login as PostgreSQL reports it',
    async (params) => {
      const direct = await ProtocolClient.connect(destinationConn(tenant), params);
      const viaPooler = await ProtocolClient.connect(poolerConn(pooler!, tenant), params);
      try {
        for (const name of ['TimeZone', 'DateStyle', 'IntervalStyle', 'standard_conforming_strings', 'client_encoding']) {
          expect.soft(viaPooler.params.get(name), name).toBe(direct.params.get(name));
        }
        // And in effect on the server connection the client's queries run on.
        const shown = await viaPooler.simple('SHOW TimeZone; SHOW DateStyle; SHOW IntervalStyle; SHOW standard_conforming_strings; SHOW client_encoding');
        const own = await direct.simple('SHOW TimeZone; SHOW DateStyle; SHOW IntervalStyle; SHOW standard_conforming_strings; SHOW client_encoding');
        expect(shown).toEqual(own);
      } finally {
        await direct.end();
        await viaPooler.end();
      }
    },
  );
});

describe('a replay the server refuses', () => {
  it('ends that client with the server’s error, once: no endless re-queue', async () => {
    const c = await ProtocolClient.connect(poolerConn(pooler!, tenant));
    const moved = { ...tenant.config, target: { ...tenant.config.target, database: `${tenant.destination.database}_eucjp` } };
    try {
      await c.simple("SET client_encoding = 'LATIN1'");
      // The tenant moves to a database where that client_encoding cannot be set: the client's
      // session cannot be carried on there.
      pooler!.reload(poolerConfig([moved]));
      const before = await sessionsOf(moved.target.database);
      await c.send(query('SELECT 1'));
      const msgs = await within(c.drain(), 20_000, 'the query after the move');
      const after = await sessionsOf(moved.target.database);
      expect(after - before, 'backend sessions opened in the new database').toBeLessThanOrEqual(POOL_SIZE);
      expect(msgs.map((m) => m.type), 'one error, then the connection closes').toEqual(['E']);
      expect(errorFields(msgs[0]!.body)).toMatchObject({ S: 'FATAL', C: '0A000', M: 'invalid value for parameter "client_encoding": "LATIN1"' });
      // Another client of the tenant is served there.
      const d = await ProtocolClient.connect(poolerConn(pooler!, tenant));
      expect(await d.simple("SELECT 'ok'")).toEqual([['ok']]);
      await d.end();
      // And a login asking for that client_encoding there gets what PostgreSQL says at start-up
      // (its own wording, not the SET's).
      const direct = await loginWith({ ...destinationConn(tenant), database: moved.target.database }, { client_encoding: 'LATIN1' });
      const pooled = await loginWith(poolerConn(pooler!, tenant), { client_encoding: 'LATIN1' });
      expect('refused' in direct && 'refused' in pooled, 'both refuse the login').toBe(true);
      expect(visible((pooled as { refused: Record<string, string> }).refused)).toEqual(visible((direct as { refused: Record<string, string> }).refused));
    } finally {
      c.destroy();
      pooler!.reload(poolerConfig([tenant.config]));
    }
  });
});
