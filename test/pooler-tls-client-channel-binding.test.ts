// SCRAM-SHA-256-PLUS toward clients: over TLS the pooler offers channel binding
// (tls-server-end-point, the hash of its certificate) as PostgreSQL does, so psql with
// channel_binding=require and node-postgres with enableChannelBinding log in bound to the pooler's
// certificate; without TLS nothing is offered and channel_binding=require is refused by libpq.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { endQuietly } from './helpers/clients.ts';
import { poolerConn, type ConnSettings } from './helpers/tenants.ts';
import { psqlWith } from './helpers/tls.ts';
import { tlsListenerPooler } from './helpers/tls-listener.ts';

// tls.mode allow: TLS when the client asks for it, plaintext otherwise.
const env = tlsListenerPooler('tls-channel-binding', 'allow');

describe('channel binding (SCRAM-SHA-256-PLUS)', () => {
  it('psql with channel_binding=require logs in over TLS', async () => {
    const r = await psqlWith(poolerConn(env.pooler, env.tenant, { host: 'localhost' }), 'SELECT current_database();\n', {
      sslmode: 'verify-full',
      sslrootcert: env.ca.certFile,
      channel_binding: 'require',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(env.tenant.destination.database);
  });

  it('psql with channel_binding=require is refused by libpq itself without TLS (nothing is offered)', async () => {
    const r = await psqlWith(poolerConn(env.pooler, env.tenant), 'SELECT 1;\n', { sslmode: 'disable', channel_binding: 'require' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/channel binding required/);
  });

  it('node-postgres with enableChannelBinding uses SCRAM-SHA-256-PLUS over TLS, and plain SCRAM without', async () => {
    const ca = readFileSync(env.ca.certFile);
    /** Logs in and returns the SASL mechanism the driver chose (recorded where it sends it). */
    const loginWith = async (c: ConnSettings, ssl: pg.ClientConfig['ssl']): Promise<string | undefined> => {
      const client = new pg.Client({ host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, ssl, enableChannelBinding: true });
      const connection = (client as unknown as { connection: { sendSASLInitialResponseMessage: (m: string, r: string) => void } }).connection;
      let mechanism: string | undefined;
      const send = connection.sendSASLInitialResponseMessage.bind(connection);
      connection.sendSASLInitialResponseMessage = (m, r) => {
        mechanism = m;
        send(m, r);
      };
      await client.connect();
      try {
        expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      } finally {
        await endQuietly(client);
      }
      return mechanism;
    };
    expect(await loginWith(poolerConn(env.pooler, env.tenant, { host: 'localhost' }), { ca, servername: 'localhost' })).toBe('SCRAM-SHA-256-PLUS');
    expect(await loginWith(poolerConn(env.pooler, env.tenant), false)).toBe('SCRAM-SHA-256');
  });
});
