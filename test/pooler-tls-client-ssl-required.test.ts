// A listener with tls.mode require refuses a plaintext StartupMessage with FATAL 28000 "SSL
// required" (as PostgreSQL's hostssl-only setups and PgBouncer's client_tls_sslmode=require do),
// before any authentication; the same client with TLS gets in.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { errorFields, ProtocolClient, startupMessage } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, psqlWith, removeTlsTempDir, tlsTempDir } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let dir: string | undefined;

beforeAll(async () => {
  dir = tlsTempDir();
  const cert = issueServerCert(makeCa(dir, 'ca'), 'pooler', { dns: ['localhost'], ips: ['127.0.0.1'] });
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tls-required' });
  pooler = await startPooler(
    poolerConfig([tenant.config], { listen: { host: '127.0.0.1', port: 0, tls: { mode: 'require', cert_file: cert.certFile, key_file: cert.keyFile } } }),
    { logger: testLogger() },
  );
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  removeTlsTempDir(dir);
});

it('psql with sslmode=disable gets "SSL required"', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant), 'SELECT 1;\n', { sslmode: 'disable' });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('FATAL:  SSL required');
});

it('a plaintext StartupMessage gets FATAL 28000 and nothing else, then the connection closes', async () => {
  const conn = await ProtocolClient.open(pooler!.host, pooler!.port);
  await conn.send(startupMessage({ user: tenant.clientUser, database: tenant.clientDatabase }));
  const msgs = await conn.drain();
  // No authentication request: the refusal comes before the pooler looks at the login.
  expect(msgs.map((m) => m.type)).toEqual(['E']);
  expect(errorFields(msgs[0]!.body)).toMatchObject({ S: 'FATAL', C: '28000', M: 'SSL required' });
});

it('the same client with sslmode=require gets in', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant), 'SELECT 42;\n', { sslmode: 'require' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('42');
});
