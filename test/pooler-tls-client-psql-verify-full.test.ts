// psql with sslmode=verify-full through a listener with tls.mode require: libpq checks the
// pooler's certificate against the test CA and the host name "localhost", the start-up and
// queries run inside TLS, and `\conninfo` reports the SSL connection.
import { expect, it } from 'vitest';
import { poolerConn } from './helpers/tenants.ts';
import { makeCa, psqlWith } from './helpers/tls.ts';
import { tlsListenerPooler } from './helpers/tls-listener.ts';

const env = tlsListenerPooler('tls-psql', 'require');

it('connects with sslmode=verify-full to host localhost and runs queries inside TLS', async () => {
  const r = await psqlWith(poolerConn(env.pooler, env.tenant, { host: 'localhost' }), 'SELECT 1;\nSELECT current_database();\n\\conninfo\n', {
    sslmode: 'verify-full',
    sslrootcert: env.ca.certFile,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines.slice(0, 2)).toEqual(['1', env.tenant.destination.database]);
  // psql's \conninfo prints "SSL connection (protocol: TLSv1.3, cipher: ...)" on an encrypted link.
  expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
});

it('fails verify-full when the client trusts a different CA', async () => {
  const other = makeCa(env.dir, 'other-ca');
  const r = await psqlWith(poolerConn(env.pooler, env.tenant, { host: 'localhost' }), 'SELECT 1;\n', { sslmode: 'verify-full', sslrootcert: other.certFile });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('certificate verify failed');
});
