// node-postgres with `ssl: { ca }` through a listener with tls.mode require: it verifies the
// pooler's certificate (chain and IP SAN 127.0.0.1), queries and transactions work on the TLS
// socket, and a client that trusts another CA is refused by its own verification.
import { readFileSync } from 'node:fs';
import { TLSSocket } from 'node:tls';
import { expect, it } from 'vitest';
import { connectPg, endQuietly, rejectionOf, socketOf, type PgClient } from './helpers/clients.ts';
import { poolerConn } from './helpers/tenants.ts';
import { makeCa } from './helpers/tls.ts';
import { tlsListenerPooler } from './helpers/tls-listener.ts';

const env = tlsListenerPooler('tls-node-pg', 'require');

it('connects with a verified certificate and runs queries and a transaction', async () => {
  let client: PgClient | undefined;
  try {
    client = await connectPg(poolerConn(env.pooler, env.tenant), { ssl: { ca: readFileSync(env.ca.certFile, 'utf8') } });
    const socket = socketOf(client);
    expect(socket).toBeInstanceOf(TLSSocket);
    expect((socket as TLSSocket).authorized).toBe(true);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.query('BEGIN');
    const r = await client.query('SELECT $1::text AS v, current_user AS u', ['over tls']);
    await client.query('COMMIT');
    expect(r.rows).toEqual([{ v: 'over tls', u: env.tenant.destination.user }]);
  } finally {
    await endQuietly(client);
  }
});

it('refuses the pooler when the client trusts another CA', async () => {
  const other = makeCa(env.dir, 'other-ca');
  const err = await rejectionOf(connectPg(poolerConn(env.pooler, env.tenant), { ssl: { ca: readFileSync(other.certFile, 'utf8') } }));
  expect(String(err)).toMatch(/unable to (get local issuer|verify)|self-signed/);
});
