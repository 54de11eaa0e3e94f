// Bytes sent together with an SSLRequest, before the server's one-byte answer, are unencrypted
// even if TLS follows, and may have been injected by a man-in-the-middle (CVE-2021-23214: buffer
// stuffing). Like PostgreSQL, the pooler ends such a connection with FATAL 08P01 instead of
// answering 'S' or 'N'; a lone SSLRequest still gets its answer.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { errorFields, ProtocolClient, startupMessage } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, testLogger, type TestTenant } from './helpers/tenants.ts';
import { issueServerCert, makeCa, peerCertificateOf, removeTlsTempDir, tlsTempDir, type TestCa } from './helpers/tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer | undefined;
const poolers: Record<'require' | 'disable', Pooler | undefined> = { require: undefined, disable: undefined };
let tenant: TestTenant;
let dir: string | undefined;
let ca: TestCa;

function sslRequest(): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(80877103, 4);
  return b;
}

beforeAll(async () => {
  dir = tlsTempDir();
  ca = makeCa(dir, 'ca');
  const cert = issueServerCert(ca, 'pooler', { dns: ['localhost'], ips: ['127.0.0.1'] });
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tls-stuffing' });
  poolers.require = await startPooler(
    poolerConfig([tenant.config], { listen: { host: '127.0.0.1', port: 0, tls: { mode: 'require', cert_file: cert.certFile, key_file: cert.keyFile } } }),
    { logger: testLogger() },
  );
  poolers.disable = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  for (const p of Object.values(poolers)) await p?.close();
  await pg?.stop();
  removeTlsTempDir(dir);
});

describe.each(['require', 'disable'] as const)('listener tls.mode %s', (mode) => {
  it('ends a connection whose SSLRequest arrives with a StartupMessage behind it', async () => {
    const pooler = poolers[mode]!;
    const conn = await ProtocolClient.open(pooler.host, pooler.port);
    await conn.send(Buffer.concat([sslRequest(), startupMessage({ user: tenant.clientUser, database: tenant.clientDatabase })]));
    const msgs = await conn.drain();
    // Neither 'S' nor 'N' (a lone byte would not parse as a message): just the FATAL, then close.
    expect(msgs.map((m) => m.type)).toEqual(['E']);
    expect(errorFields(msgs[0]!.body)).toMatchObject({ S: 'FATAL', C: '08P01', M: 'received unencrypted data after SSL request' });
  });
});

it('still answers a lone SSLRequest with S and a TLS handshake', async () => {
  const cert = await peerCertificateOf(poolers.require!.host, poolers.require!.port, readFileSync(ca.certFile), 'localhost');
  expect(cert.subject.CN).toBe('pooler');
});
