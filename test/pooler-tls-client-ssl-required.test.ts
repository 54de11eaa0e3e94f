// A listener with tls.mode require refuses a plaintext StartupMessage with FATAL 28000 "SSL
// required" (as PostgreSQL's hostssl-only setups and PgBouncer's client_tls_sslmode=require do),
// before any authentication; the same client with TLS gets in.
import { expect, it } from 'vitest';
import { errorFields, ProtocolClient, startupMessage } from './helpers/raw-protocol.ts';
import { poolerConn } from './helpers/tenants.ts';
import { psqlWith } from './helpers/tls.ts';
import { tlsListenerPooler } from './helpers/tls-listener.ts';

const env = tlsListenerPooler('tls-required', 'require');

it('psql with sslmode=disable gets "SSL required"', async () => {
  const r = await psqlWith(poolerConn(env.pooler, env.tenant), 'SELECT 1;\n', { sslmode: 'disable' });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('FATAL:  SSL required');
});

it('a plaintext StartupMessage gets FATAL 28000 and nothing else, then the connection closes', async () => {
  const conn = await ProtocolClient.open(env.pooler.host, env.pooler.port);
  await conn.send(startupMessage({ user: env.tenant.clientUser, database: env.tenant.clientDatabase }));
  const msgs = await conn.drain();
  // No authentication request: the refusal comes before the pooler looks at the login.
  expect(msgs.map((m) => m.type)).toEqual(['E']);
  expect(errorFields(msgs[0]!.body)).toMatchObject({ S: 'FATAL', C: '28000', M: 'SSL required' });
});

it('the same client with sslmode=require gets in', async () => {
  const r = await psqlWith(poolerConn(env.pooler, env.tenant), 'SELECT 42;\n', { sslmode: 'require' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe('42');
});
