// Toward servers, tls.mode verify-full: PostgreSQL runs with ssl=on and accepts TCP logins only
// over TLS (hostssl), the pooler sends SSLRequest, checks the certificate against ca_file and the
// target host (127.0.0.1, an IP SAN), and the session it opens is encrypted (pg_stat_ssl). A
// certificate from a CA the target does not trust is refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import type { PostgresServer } from '../shared/src/local/postgres-server.ts';
import { psql } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, removeTlsTempDir, startTlsPostgres, tlsTempDir, type TestCa } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let dir: string | undefined;
let ca: TestCa;
let verified: TestTenant;
let untrusted: TestTenant;

beforeAll(async () => {
  dir = tlsTempDir();
  ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  pg = await startTlsPostgres(issueServerCert(ca, 'postgres-server', { dns: ['localhost'], ips: ['127.0.0.1'] }));
  const base = await createTenant(pg, { id: 'tls-server-full', pool: { size: 2 } });
  verified = { ...base, config: { ...base.config, target: { ...base.config.target, tls: { mode: 'verify-full', ca_file: ca.certFile } } } };
  // TLS failures are not retried (waiting cannot cure them): even with a checkout_timeout longer
  // than the test's own timeout, the client must get the error at once.
  const other = await createTenant(pg, { id: 'tls-server-untrusted', pool: { connect_timeout: 2, checkout_timeout: 120 } });
  untrusted = { ...other, config: { ...other.config, target: { ...other.config.target, tls: { mode: 'verify-full', ca_file: otherCa.certFile } } } };
  pooler = await startPooler(poolerConfig([verified.config, untrusted.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  removeTlsTempDir(dir);
});

it('opens server connections over verified TLS (pg_stat_ssl shows ssl = true)', async () => {
  const r = await psql(
    poolerConn(pooler!, verified),
    'SELECT ssl, version LIKE $$TLSv1.%$$ FROM pg_stat_ssl WHERE pid = pg_backend_pid();\nSELECT current_user;\n',
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n')).toEqual(['t|t', verified.destination.user]);
});

it('refuses a server certificate that does not chain to the target ca_file', async () => {
  const r = await psql(poolerConn(pooler!, untrusted), 'SELECT 1;\n');
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`cannot connect to the database of tenant "${untrusted.id}"`);
  // Node's verification error, e.g. "unable to get local issuer certificate".
  expect(r.stderr).toMatch(/SSL connection to 127\.0\.0\.1:\d+ failed \(tls mode verify-full\): .*(issuer|self-signed|verify)/);
});
