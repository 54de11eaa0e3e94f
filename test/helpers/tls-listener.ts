// The set-up of the pooler-tls-client-* tests: a fresh CA and a server certificate for
// localhost/127.0.0.1, one PostgreSQL with one tenant, and an in-process pooler whose client
// listener has `tls.mode` set and presents that certificate. Started in beforeAll and stopped in
// afterAll of the calling test file.
import { afterAll, beforeAll } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { createTenant, poolerConfig, testLogger, type TestTenant } from './tenants.ts';
import { issueServerCert, makeCa, removeTlsTempDir, tlsTempDir, type TestCa } from './tls.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

export interface TlsListener {
  /** Filled in by beforeAll. */
  readonly pooler: Pooler;
  readonly tenant: TestTenant;
  /** The CA that issued the listener's certificate. */
  readonly ca: TestCa;
  /** A temporary directory for more CAs or certificates (removed in afterAll). */
  readonly dir: string;
}

export function tlsListenerPooler(tenantId: string, mode: 'allow' | 'require'): TlsListener {
  const env = {} as { -readonly [K in keyof TlsListener]: TlsListener[K] };
  let pg: PostgresServer | undefined;
  beforeAll(async () => {
    env.dir = tlsTempDir();
    env.ca = makeCa(env.dir, 'ca');
    const cert = issueServerCert(env.ca, 'pooler', { dns: ['localhost'], ips: ['127.0.0.1'] });
    pg = await startPostgres();
    env.tenant = await createTenant(pg, { id: tenantId });
    env.pooler = await startPooler(
      poolerConfig([env.tenant.config], { listen: { host: '127.0.0.1', port: 0, tls: { mode, cert_file: cert.certFile, key_file: cert.keyFile } } }),
      { logger: testLogger() },
    );
  });
  afterAll(async () => {
    await env.pooler?.close();
    await pg?.stop();
    removeTlsTempDir(env.dir);
  });
  return env;
}
