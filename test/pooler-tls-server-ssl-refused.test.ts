// Toward a server without SSL (PostgreSQL with ssl=off answers 'N' to SSLRequest): tls.mode
// require fails with "does not support SSL", prefer goes on in plaintext (libpq's sslmode
// semantics), disable never asks.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { psql } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let required: TestTenant;
let preferred: TestTenant;

beforeAll(async () => {
  pg = await startPostgres({ settings: { ssl: 'off' } });
  // TLS failures are not retried (waiting cannot cure them): even with a checkout_timeout longer
  // than the test's own timeout, the client must get the error at once.
  const a = await createTenant(pg, { id: 'tls-refused-require', pool: { connect_timeout: 2, checkout_timeout: 120 } });
  required = { ...a, config: { ...a.config, target: { ...a.config.target, tls: { mode: 'require' } } } };
  const b = await createTenant(pg, { id: 'tls-refused-prefer' });
  preferred = { ...b, config: { ...b.config, target: { ...b.config.target, tls: { mode: 'prefer' } } } };
  pooler = await startPooler(poolerConfig([required.config, preferred.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it('require fails against a server that answers N', async () => {
  const r = await psql(poolerConn(pooler!, required), 'SELECT 1;\n');
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`cannot connect to the database of tenant "${required.id}"`);
  expect(r.stderr).toMatch(/server 127\.0\.0\.1:\d+ does not support SSL, but SSL was required \(tls mode require\)/);
});

it('prefer falls back to plaintext against a server that answers N', async () => {
  const r = await psql(poolerConn(pooler!, preferred), 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('f');
});
