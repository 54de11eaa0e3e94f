// A listener without TLS (tls.mode disable, the default) answers SSLRequest with 'N': libpq's
// sslmode=require gives up with "server does not support SSL", sslmode=prefer goes on in plaintext.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { psqlWith } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tls-disable' });
  pooler = await startPooler(poolerConfig([tenant.config], { listen: { host: '127.0.0.1', port: 0, tls: { mode: 'disable' } } }), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it('sslmode=require is refused by the client itself after our N', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant), 'SELECT 1;\n', { sslmode: 'require' });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('server does not support SSL, but SSL was required');
});

it('sslmode=prefer continues in plaintext after our N', async () => {
  const r = await psqlWith(poolerConn(pooler!, tenant), 'SELECT 1;\n\\conninfo\n', { sslmode: 'prefer' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^1\n/);
  expect(r.stdout).not.toContain('SSL connection');
});
