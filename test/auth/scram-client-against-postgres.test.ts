// The pooler's client-side authentication (ScramClientSession, md5Response) logs in to a real
// PostgreSQL over a raw socket built from our own messages, framer and decoders.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Response } from '../../pooler/src/auth/md5.ts';
import { ScramClientSession } from '../../pooler/src/auth/scram-client.ts';
import { MessageFramer } from '../../pooler/src/net/framer.ts';
import * as msg from '../../pooler/src/net/messages.ts';
import { parseAuthRequest, parseErrorFields } from '../../pooler/src/net/parse.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';

type LoginResult = { ok: true; methods: string[]; currentUser: string } | { ok: false; methods: string[]; sqlstate: string; error: string };

/** Logs in, runs `SELECT current_user`, terminates. `methods` lists the auth requests seen. */
function login(port: number, user: string, password: string): Promise<LoginResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const framer = new MessageFramer(1 << 20);
    const methods: string[] = [];
    let scram: ScramClientSession | undefined;
    let currentUser = '';
    const done = (r: LoginResult): void => {
      socket.end(msg.terminate());
      resolve(r);
    };
    socket.on('error', reject);
    socket.on('connect', () => socket.write(msg.startupMessage({ user, database: 'postgres' })));
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m; m = framer.next()) {
          const type = String.fromCharCode(m.type);
          if (type === 'R') {
            const req = parseAuthRequest(m.body);
            methods.push(req.kind);
            if (req.kind === 'md5') socket.write(msg.passwordMessage(md5Response(password, user, req.salt as Buffer)));
            else if (req.kind === 'sasl') {
              expect(req.mechanisms).toContain('SCRAM-SHA-256');
              scram = new ScramClientSession(password);
              socket.write(msg.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
            } else if (req.kind === 'sasl-continue') {
              (scram as ScramClientSession).serverFirst(req.data ?? '').then((r) => socket.write(msg.saslResponse(r)), reject);
            }
            else if (req.kind === 'sasl-final') (scram as ScramClientSession).serverFinal(req.data ?? '');
            else if (req.kind === 'ok' && scram && !scram.completed) throw new Error('AuthenticationOk before the server proved itself');
          } else if (type === 'E') {
            const f = parseErrorFields(m.body);
            return done({ ok: false, methods, sqlstate: f.C ?? '', error: f.M ?? '' });
          } else if (type === 'Z') {
            if (currentUser) return done({ ok: true, methods, currentUser });
            socket.write(msg.query('SELECT current_user'));
          } else if (type === 'D') {
            currentUser = m.body.toString('utf8', 6);
          }
        }
      } catch (err) {
        socket.destroy();
        reject(err);
      }
    });
  });
}

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
  await pg.psql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_user LOGIN PASSWORD 'scram pw'`);
  await pg.psql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_unicode LOGIN PASSWORD U&'p\\00e4ss\\2168\\00ad'`);
  await pg.psql(`SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5 pw' IN ROLE md5_users`);
});
afterAll(async () => {
  await pg?.stop();
});

describe('client-side authentication against PostgreSQL', () => {
  it('SCRAM-SHA-256', async () => {
    expect(await login(pg.port, 'scram_user', 'scram pw')).toEqual({ ok: true, methods: ['sasl', 'sasl-continue', 'sasl-final', 'ok'], currentUser: 'scram_user' });
  });

  it('SCRAM-SHA-256 with a non-ASCII password (SASLprep on both sides)', async () => {
    // Same password in another Unicode form: SASLprep maps U+2168 to "IX" and drops U+00AD.
    expect(await login(pg.port, 'scram_unicode', 'pa\u0308ssIX')).toMatchObject({ ok: true, currentUser: 'scram_unicode' });
  });

  it('SCRAM-SHA-256 with a wrong password is refused by the server', async () => {
    expect(await login(pg.port, 'scram_user', 'wrong')).toMatchObject({ ok: false, sqlstate: '28P01' });
  });

  it('md5', async () => {
    expect(await login(pg.port, 'md5_user', 'md5 pw')).toEqual({ ok: true, methods: ['md5', 'ok'], currentUser: 'md5_user' });
  });

  it('md5 with a wrong password is refused by the server', async () => {
    expect(await login(pg.port, 'md5_user', 'md5 PW')).toMatchObject({ ok: false, methods: ['md5'], sqlstate: '28P01' });
  });
});
