// md5 client authentication: a tenant whose only verifier is md5 asks the client for an md5
// password (AuthenticationMD5Password, protocol docs 55.3.2), and node-postgres, psql and a hand-
// written client log in with it. A tenant with both verifiers prefers SCRAM-SHA-256 (SASL), unless
// its auth_method is md5 — what the control plane's tenants stored with `md5: true` get (they
// always have a SCRAM verifier too, so they used never to be offered md5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, psql } from './helpers/clients.ts';
import { ProtocolClient, query } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { tenantToConfig } from '../pooler/src/config/sources/tenant-config.ts';
import { buildNewTenant } from '../shared/src/domain/lifecycle.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let md5Only: TestTenant;
let both: TestTenant;

const AUTH_OK = 0;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;

let asked: TestTenant;
let fromApi: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  md5Only = await createTenant(pg, { id: 'md5-only', clientAuth: 'md5', pool: { size: 2 } });
  both = await createTenant(pg, { id: 'md5-and-scram', clientAuth: 'md5', extraVerifiers: ['scram'], pool: { size: 2 } });
  asked = await createTenant(pg, { id: 'md5-asked', clientAuth: 'md5', extraVerifiers: ['scram'], pool: { size: 2 } });
  fromApi = await createTenant(pg, { id: 'md5-api', clientAuth: 'md5', extraVerifiers: ['scram'], pool: { size: 2 } });
  // The control plane's record of a tenant created with md5: true, mapped as the local/AWS sources map it.
  const [md5, scram] = fromApi.config.verifiers as [string, string];
  const record = buildNewTenant(
    {
      tenantId: fromApi.id,
      client: { database: fromApi.clientDatabase, user: fromApi.clientUser },
      clientAuth: { scram, md5 },
      destination: { host: fromApi.destination.host, port: fromApi.destination.port, database: fromApi.destination.database, user: fromApi.destination.user, passwordCiphertext: 'eA==' },
      pool: { size: 2 },
    },
    new Date(),
  );
  const mapped = tenantToConfig(record, { password: fromApi.destination.password, writerOf: () => undefined, now: new Date() });
  pooler = await startPooler(poolerConfig([md5Only.config, both.config, { ...asked.config, auth_method: 'md5' }, mapped]), { logger: testLogger() });
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

describe.each([
  ['auth_method md5 in the config', () => asked],
  ['a control-plane tenant stored with md5: true', () => fromApi],
])('tenant with md5 and SCRAM verifiers, %s', (_what, which) => {
  it('asks for an md5 password and a client that only answers md5 logs in', async () => {
    const t = which();
    const raw = await ProtocolClient.open(pooler!.host, pooler!.port);
    try {
      await raw.login(poolerConn(pooler!, t));
      expect(raw.authRequests).toEqual([AUTH_MD5, AUTH_OK]);
    } finally {
      raw.destroy();
    }
    const r = await psql(poolerConn(pooler!, t), 'SELECT current_user;');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(t.destination.user);
  });
});
