// md5 client authentication: a tenant whose only verifier is md5 asks the client for an md5
// password (AuthenticationMD5Password, protocol docs 55.3.2), and node-postgres, psql and a hand-
// written client log in with it. A tenant with both verifiers prefers SCRAM-SHA-256 (SASL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, psql } from './helpers/clients.ts';
import { ProtocolClient, query } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let md5Only: TestTenant;
let both: TestTenant;

const AUTH_OK = 0;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;

beforeAll(async () => {
  pg = await startPostgres();
  md5Only = await createTenant(pg, { id: 'md5-only', clientAuth: 'md5', pool: { size: 2 } });
  both = await createTenant(pg, { id: 'md5-and-scram', clientAuth: 'md5', extraVerifiers: ['scram'], pool: { size: 2 } });
  pooler = await startPooler(poolerConfig([md5Only.config, both.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe('md5-only tenant', () => {
  it('logs in node-postgres with md5 and serves queries', async () => {
    const c = await connectPg(poolerConn(pooler!, md5Only));
    try {
      const r = await c.query<{ db: string; v: number }>('SELECT current_database() AS db, $1::int AS v', [3]);
      expect(r.rows).toEqual([{ db: md5Only.destination.database, v: 3 }]);
    } finally {
      await c.end();
    }
  });

  it('logs in psql with md5', async () => {
    const r = await psql(poolerConn(pooler!, md5Only), 'SELECT current_user;');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(md5Only.destination.user);
  });

  it('asks for an md5 password (AuthenticationMD5Password), not SASL', async () => {
    const raw = await ProtocolClient.open(pooler!.host, pooler!.port);
    try {
      await raw.login(poolerConn(pooler!, md5Only));
      expect(raw.authRequests).toEqual([AUTH_MD5, AUTH_OK]);
      await raw.send(query('SELECT 1'));
      const z = (await raw.untilType('Z')).at(-1)!;
      expect(z.body.toString('latin1')).toBe('I');
    } finally {
      raw.destroy();
    }
  });
});

describe('tenant with md5 and SCRAM verifiers', () => {
  it('prefers SCRAM-SHA-256 and accepts the password', async () => {
    const raw = await ProtocolClient.open(pooler!.host, pooler!.port);
    try {
      await raw.login(poolerConn(pooler!, both));
      expect(raw.authRequests[0]).toBe(AUTH_SASL);
      expect(raw.authRequests.at(-1)).toBe(AUTH_OK);
    } finally {
      raw.destroy();
    }
    const c = await connectPg(poolerConn(pooler!, both));
    await c.end();
  });
});
