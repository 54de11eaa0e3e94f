// node-postgres with `ssl: { ca }` through a listener with tls.mode require: it verifies the
// pooler's certificate (chain and IP SAN 127.0.0.1), queries and transactions work on the TLS
// socket, and a client that trusts another CA is refused by its own verification.
import { readFileSync } from 'node:fs';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, rejectionOf, socketOf, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, removeTlsTempDir, tlsTempDir, type TestCa } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let dir: string | undefined;
let ca: TestCa;

beforeAll(async () => {
  dir = tlsTempDir();
  ca = makeCa(dir, 'ca');
  const cert = issueServerCert(ca, 'pooler', { dns: ['localhost'], ips: ['127.0.0.1'] });
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tls-node-pg' });
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

it('connects with a verified certificate and runs queries and a transaction', async () => {
  let client: PgClient | undefined;
  try {
    client = await connectPg(poolerConn(pooler!, tenant), { ssl: { ca: readFileSync(ca.certFile, 'utf8') } });
    const socket = socketOf(client);
    expect(socket).toBeInstanceOf(TLSSocket);
    expect((socket as TLSSocket).authorized).toBe(true);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.query('BEGIN');
    const r = await client.query('SELECT $1::text AS v, current_user AS u', ['over tls']);
    await client.query('COMMIT');
    expect(r.rows).toEqual([{ v: 'over tls', u: tenant.destination.user }]);
  } finally {
    await endQuietly(client);
  }
});

it('refuses the pooler when the client trusts another CA', async () => {
  const other = makeCa(dir!, 'other-ca');
  const err = await rejectionOf(connectPg(poolerConn(pooler!, tenant), { ssl: { ca: readFileSync(other.certFile, 'utf8') } }));
  expect(String(err)).toMatch(/unable to (get local issuer|verify)|self-signed/);
});
