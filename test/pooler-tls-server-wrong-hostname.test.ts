// Toward servers, verify-full checks the host name: PostgreSQL presents a certificate from the
// trusted CA but for another name (db.example.invalid), and the target is 127.0.0.1. verify-full
// refuses it with the hostname mismatch in the error; verify-ca (chain only) accepts the same
// server, which shows the refusal is the name check and nothing else.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import type { PostgresServer } from '../shared/src/local/postgres-server.ts';
import { psql } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, removeTlsTempDir, startTlsPostgres, tlsTempDir } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let dir: string | undefined;
let full: TestTenant;
let chainOnly: TestTenant;

beforeAll(async () => {
  dir = tlsTempDir();
  const ca = makeCa(dir, 'ca');
  pg = await startTlsPostgres(issueServerCert(ca, 'postgres-server', { dns: ['db.example.invalid'] }));
  // TLS failures are not retried (waiting cannot cure them): even with a checkout_timeout longer
  // than the test's own timeout, the client must get the error at once.
  const a = await createTenant(pg, { id: 'tls-wrong-host-full', pool: { connect_timeout: 2, checkout_timeout: 120 } });
  full = { ...a, config: { ...a.config, target: { ...a.config.target, tls: { mode: 'verify-full', ca_file: ca.certFile } } } };
  const b = await createTenant(pg, { id: 'tls-wrong-host-ca' });
  chainOnly = { ...b, config: { ...b.config, target: { ...b.config.target, tls: { mode: 'verify-ca', ca_file: ca.certFile } } } };
  pooler = await startPooler(poolerConfig([full.config, chainOnly.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  removeTlsTempDir(dir);
});

it('verify-full refuses a certificate whose names do not include the target host', async () => {
  const r = await psql(poolerConn(pooler!, full), 'SELECT 1;\n');
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`cannot connect to the database of tenant "${full.id}"`);
  expect(r.stderr).toMatch(/SSL connection to 127\.0\.0\.1:\d+ failed \(tls mode verify-full\): Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list/);
});

it('verify-ca accepts the same server (chain checked, name not) and the session is encrypted', async () => {
  const r = await psql(poolerConn(pooler!, chainOnly), 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('t');
});
