// A listener with tls.mode allow serves both: a client that asks for TLS (SSLRequest) gets 'S'
// and an encrypted session, a client that does not (or is told nothing) stays in plaintext.
import { expect, it } from 'vitest';
import { poolerConn } from './helpers/tenants.ts';
import { psqlWith } from './helpers/tls.ts';
import { tlsListenerPooler } from './helpers/tls-listener.ts';

const env = tlsListenerPooler('tls-allow', 'allow');

it('sslmode=require gets an encrypted session', async () => {
  const r = await psqlWith(poolerConn(env.pooler, env.tenant), 'SELECT 1;\n\\conninfo\n', { sslmode: 'require' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^1\n/);
  expect(r.stdout).toContain('SSL connection (protocol: TLSv1.');
});

it('sslmode=disable gets a plaintext session', async () => {
  const r = await psqlWith(poolerConn(env.pooler, env.tenant), 'SELECT 1;\n\\conninfo\n', { sslmode: 'disable' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^1\n/);
  expect(r.stdout).toContain('You are connected to database');
  expect(r.stdout).not.toContain('SSL connection');
});
