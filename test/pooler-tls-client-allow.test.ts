// A listener with tls.mode allow serves both: a client that asks for TLS (SSLRequest) gets 'S'
// and an encrypted session, a client that does not (or is told nothing) stays in plaintext.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
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
  tenant = await createTenant(pg, { id: 'tls-allow' });
  pooler = await startPooler(
    poolerConfig([tenant.config], { listen: { host: '127.0.0.1', port: 0, tls: { mode: 'allow', cert_file: cert.certFile, key_file: cert.keyFile } } }),
    { logger: testLogger() },
  );
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  removeTlsTempDir(dir);
});

it('sslmode=require gets an encrypted session', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant), 'SELECT 1;\n\\conninfo\n', { sslmode: 'require' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^1\n/);
  expect(r.stdout).toContain('SSL connection (protocol: TLSv1.');
});

it('sslmode=disable gets a plaintext session', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant), 'SELECT 1;\n\\conninfo\n', { sslmode: 'disable' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^1\n/);
  expect(r.stdout).toContain('You are connected to database');
  expect(r.stdout).not.toContain('SSL connection');
});
