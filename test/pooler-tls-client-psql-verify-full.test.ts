// psql with sslmode=verify-full through a listener with tls.mode require: libpq checks the
// pooler's certificate against the test CA and the host name "localhost", the start-up and
// queries run inside TLS, and `\conninfo` reports the SSL connection.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, psqlWith, removeTlsTempDir, tlsTempDir, type TestCa } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let dir: string | undefined;
let ca: TestCa;

beforeAll(async () => {
  dir = tlsTempDir();
  ca = makeCa(dir, 'ca');
  const cert = issueServerCert(ca, 'pooler', { dns: ['localhost'], ips: ['127.0.0.1'] });
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tls-psql' });
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

it('connects with sslmode=verify-full to host localhost and runs queries inside TLS', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant, { host: 'localhost' }), 'SELECT 1;\nSELECT current_database();\n\\conninfo\n', {
    sslmode: 'verify-full',
    sslrootcert: ca.certFile,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines.slice(0, 2)).toEqual(['1', tenant.destination.database]);
  // psql's \conninfo prints "SSL connection (protocol: TLSv1.3, cipher: ...)" on an encrypted link.
  expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
});

it('fails verify-full when the client trusts a different CA', async () => {
  const other = makeCa(dir!, 'other-ca');
  const r = await psqlWith(poolerConn(pooler!, tenant, { host: 'localhost' }), 'SELECT 1;\n', { sslmode: 'verify-full', sslrootcert: other.certFile });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('certificate verify failed');
});
