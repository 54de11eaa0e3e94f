// A (database, user) pair that is no tenant is refused exactly as a known tenant with a wrong
// password is, as PostgreSQL does with its mock authentication (auth-scram.c): the same SCRAM
// exchange (mechanisms, iteration count, salt length, a salt that is the same on every attempt),
// then the same FATAL 28P01 "password authentication failed for user "…"" with the same fields.
// Any other answer — 3D000 "database does not exist", 28000, a different exchange — would tell a
// scanner which tenants exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, pgErrorInfo, psql, rejectionOf } from './helpers/clients.ts';
import { LoginRefused, ProtocolClient } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type ConnSettings, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'known-tenant' });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

interface FailedLogin {
  /** Authentication request codes (10 SASL, 11 SASLContinue, …). */
  requests: number[];
  mechanisms: string;
  iterations: string;
  salt: string;
  /** The ErrorResponse's fields, with the user name the client gave replaced by <user>. */
  error: Record<string, string>;
}

/** Logs in with raw protocol messages (SCRAM) and records what the refusal looks like. */
async function failedLogin(c: ConnSettings): Promise<FailedLogin> {
  const client = await ProtocolClient.open(c.host, c.port);
  try {
    const err = await rejectionOf(client.login(c));
    if (!(err instanceof LoginRefused)) throw err;
    const serverFirst = Object.fromEntries((client.authData[1]?.toString('utf8') ?? '').split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)]));
    const error = Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, v.replaceAll(`"${c.user}"`, '"<user>"')]));
    return {
      requests: client.authRequests,
      mechanisms: client.authData[0]?.toString('latin1') ?? '',
      iterations: serverFirst.i ?? '',
      salt: serverFirst.s ?? '',
      error,
    };
  } finally {
    client.destroy();
  }
}

const cases: Array<[string, () => Partial<ConnSettings>]> = [
  ['unknown user', () => ({ user: 'nobody_here' })],
  ['unknown database', () => ({ database: 'no_such_db' })],
  ['both unknown', () => ({ database: 'no_such_db', user: 'nobody_here' })],
  ['database and user swapped', () => ({ database: tenant.clientUser, user: tenant.clientDatabase })],
];

describe('unknown logins', () => {
  it.each(cases)('%s: the same exchange and the same FATAL 28P01 as a wrong password', async (_name, override) => {
    const wrongPassword = await failedLogin(poolerConn(pooler!, tenant, { password: 'wrong-password' }));
    expect(wrongPassword.requests).toEqual([10, 11]);
    expect(wrongPassword.error).toMatchObject({ S: 'FATAL', C: '28P01', M: 'password authentication failed for user "<user>"' });

    const unknown = await failedLogin(poolerConn(pooler!, tenant, { password: 'wrong-password', ...override() }));
    const { salt, ...shape } = unknown;
    const { salt: knownSalt, ...knownShape } = wrongPassword;
    expect(shape).toEqual(knownShape);
    expect(Buffer.from(salt, 'base64').length).toBe(Buffer.from(knownSalt, 'base64').length);
    // A known user's salt is its verifier's, the same on every attempt: so is an unknown one's.
    expect((await failedLogin(poolerConn(pooler!, tenant, { password: 'other-password', ...override() }))).salt).toBe(salt);
  });

  it.each(cases)('%s → FATAL 28P01 through node-postgres, worded as for a wrong password', async (_name, override) => {
    const c = poolerConn(pooler!, tenant, override());
    const err = pgErrorInfo(await rejectionOf(connectPg(c)));
    expect(err).toEqual({ code: '28P01', severity: 'FATAL', message: `password authentication failed for user "${c.user}"` });
  });

  it('→ FATAL 28P01 through psql', async () => {
    const r = await psql(poolerConn(pooler!, tenant, { user: 'nobody_here' }), 'SELECT 1;');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FATAL: +password authentication failed for user "nobody_here"/);
  });

  it('does not disturb the known tenant', async () => {
    const c = await connectPg(poolerConn(pooler!, tenant));
    try {
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [5])).rows).toEqual([{ v: 5 }]);
    } finally {
      await c.end();
    }
  });
});
