// The listener's certificate is read from files and re-read on reload(): after the files are
// replaced (a rotation to a certificate from another CA), new connections see the new
// certificate, while a session opened before keeps working. A reload with a broken certificate
// file keeps the previous certificate (logged), so a bad rotation does not take TLS away.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type PoolerConfigInput } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, type PgClient } from './helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, peerCertificateOf, psqlWith, removeTlsTempDir, tlsTempDir, type TestCa, type TestCert } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let dir: string | undefined;
let oldCa: TestCa;
let newCa: TestCa;
let oldCert: TestCert;
let newCert: TestCert;
/** The paths the config names; the tests copy certificates over them. */
let live: TestCert;
let config: PoolerConfigInput;

const fingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;
/** Trusts both CAs, so the handshake works before and after the rotation and only the certificate differs. */
const bothCas = (): Buffer => Buffer.concat([readFileSync(oldCa.certFile), readFileSync(newCa.certFile)]);
const served = async (): Promise<string> => (await peerCertificateOf(pooler!.host, pooler!.port, bothCas(), 'localhost')).fingerprint256;

beforeAll(async () => {
  dir = tlsTempDir();
  oldCa = makeCa(dir, 'old-ca');
  newCa = makeCa(dir, 'new-ca');
  oldCert = issueServerCert(oldCa, 'pooler-old', { dns: ['localhost'], ips: ['127.0.0.1'] });
  newCert = issueServerCert(newCa, 'pooler-new', { dns: ['localhost'], ips: ['127.0.0.1'] });
  live = { certFile: join(dir, 'live.pem'), keyFile: join(dir, 'live.key') };
  copyFileSync(oldCert.certFile, live.certFile);
  copyFileSync(oldCert.keyFile, live.keyFile);
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tls-reload' });
  config = poolerConfig([tenant.config], { listen: { host: '127.0.0.1', port: 0, tls: { mode: 'require', cert_file: live.certFile, key_file: live.keyFile } } });
  pooler = await startPooler(config, { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  removeTlsTempDir(dir);
});

it('serves the new certificate to new connections after the files change and reload() runs', async () => {
  expect(await served()).toBe(fingerprint(oldCert.certFile));
  let before: PgClient | undefined;
  try {
    before = await connectPg(poolerConn(pooler!, tenant), { ssl: { ca: readFileSync(oldCa.certFile, 'utf8'), servername: 'localhost' } });
    copyFileSync(newCert.certFile, live.certFile);
    copyFileSync(newCert.keyFile, live.keyFile);
    // Files alone change nothing: the context is built on (re)load.
    expect(await served()).toBe(fingerprint(oldCert.certFile));
    pooler!.reload(config);
    expect(await served()).toBe(fingerprint(newCert.certFile));
    // A client that trusts only the new CA verifies the pooler now.
    const r = await psqlWith(poolerConn(pooler!, tenant, { host: 'localhost' }), 'SELECT 1;\n', { sslmode: 'verify-full', sslrootcert: newCa.certFile });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1');
    // The session opened before the rotation keeps its TLS connection.
    expect((await before.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  } finally {
    await endQuietly(before);
  }
});

it('keeps the current certificate when a reload finds a broken certificate file', async () => {
  const current = await served();
  writeFileSync(live.certFile, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
  const version = pooler!.configVersion;
  pooler!.reload(config);
  // The rest of the configuration was applied; only the TLS context stayed.
  expect(pooler!.configVersion).toBe(version + 1);
  expect(pooler!.reloadClientTls()).toBe(false);
  expect(await served()).toBe(current);
});
