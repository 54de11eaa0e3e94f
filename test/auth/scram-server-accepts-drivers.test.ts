// The pooler's server-side authentication (ScramServerSession, verifyMd5Response) accepts real
// drivers, node-postgres and postgres.js, and refuses them with a wrong password. A small
// net.Server speaks start-up → SASL (or md5) → AuthenticationOk → ReadyForQuery with our messages.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMd5Response } from '../../pooler/src/auth/md5.ts';
import { ScramServerSession } from '../../pooler/src/auth/scram-server.ts';
import { MessageFramer } from '../../pooler/src/net/framer.ts';
import * as msg from '../../pooler/src/net/messages.ts';
import { parsePasswordMessage, parseSaslInitialResponse, parseSaslResponse } from '../../pooler/src/net/parse.ts';
import { StartupFramer } from '../../pooler/src/net/startup.ts';
import { createMd5Verifier, createScramVerifier, parseVerifier, type ScramVerifier } from '../../shared/src/auth/verifier.ts';

const users = new Map<string, { scram?: ScramVerifier; md5?: string }>();
function addScramUser(user: string, password: string): void {
  const v = parseVerifier(createScramVerifier(password));
  if (v.kind !== 'scram') throw new Error('unreachable');
  users.set(user, { scram: v });
}
addScramUser('alice', 'alice pw');
addScramUser('ünicode', 'pässwörd \u2168');
users.set('bob', { md5: createMd5Verifier('bob pw', 'bob') });

/** Attempts seen by the server, for assertions about what actually happened on the wire. */
const attempts: { user: string; method: string; ok: boolean }[] = [];

function serve(socket: Socket): void {
  const startup = new StartupFramer();
  let framer: MessageFramer | undefined;
  let onMessage: (type: string, body: Buffer) => void = () => undefined;
  const fail = (sqlstate: string, message: string): void => {
    socket.end(msg.errorResponse({ severity: 'FATAL', code: sqlstate, message }));
  };
  const loggedIn = (): void => {
    socket.write(
      Buffer.concat([
        msg.authenticationOk(),
        msg.parameterStatus('server_version', '17.0'),
        msg.parameterStatus('client_encoding', 'UTF8'),
        msg.parameterStatus('standard_conforming_strings', 'on'),
        msg.parameterStatus('integer_datetimes', 'on'),
        msg.backendKeyData(1, 2),
        msg.readyForQuery('I'),
      ]),
    );
    onMessage = (type) => {
      if (type === 'Q') {
        socket.write(Buffer.concat([msg.rowDescription([{ name: 'ok', typeOid: 25 }]), msg.dataRow(['yes']), msg.commandComplete('SELECT 1'), msg.readyForQuery('I')]));
      } else if (type === 'X') socket.end();
    };
  };
  const begin = (user: string): void => {
    const entry = users.get(user);
    if (entry?.md5 === undefined) {
      const scram = new ScramServerSession(entry?.scram, { user });
      socket.write(msg.authenticationSasl(['SCRAM-SHA-256']));
      let step = 0;
      onMessage = (type, body) => {
        if (type !== 'p') return fail('08P01', 'expected SASL response');
        if (step++ === 0) {
          const initial = parseSaslInitialResponse(body);
          socket.write(msg.authenticationSaslContinue(scram.clientFirst(initial.data)));
          return;
        }
        const result = scram.clientFinal(parseSaslResponse(body));
        attempts.push({ user, method: 'scram', ok: result.ok });
        if (!result.ok) return fail('28P01', `password authentication failed for user "${user}"`);
        socket.write(msg.authenticationSaslFinal(result.serverFinal));
        loggedIn();
      };
    } else {
      const salt = randomBytes(4);
      const stored = entry.md5;
      socket.write(msg.authenticationMd5(salt));
      onMessage = (type, body) => {
        const ok = type === 'p' && verifyMd5Response(stored, salt, parsePasswordMessage(body));
        attempts.push({ user, method: 'md5', ok });
        if (!ok) return fail('28P01', `password authentication failed for user "${user}"`);
        loggedIn();
      };
    }
  };
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    try {
      if (!framer) {
        startup.push(chunk);
        const p = startup.next();
        if (!p) return;
        if (p.kind === 'ssl' || p.kind === 'gssenc') {
          socket.write(msg.encryptionRefused());
          return;
        }
        if (p.kind !== 'startup') return void socket.destroy();
        framer = new MessageFramer(1 << 20);
        framer.push(startup.takeRest());
        begin(p.params.user as string);
      } else {
        framer.push(chunk);
      }
      for (let m = framer.next(); m; m = framer.next()) onMessage(String.fromCharCode(m.type), m.body);
    } catch (err) {
      fail('08P01', (err as Error).message);
    }
  });
}

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function viaNodePostgres(user: string, password: string): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'db' });
  try {
    await client.connect();
    const r = await client.query<{ ok: string }>('SELECT 1');
    return r.rows[0]?.ok ?? '';
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function viaPostgresJs(user: string, password: string): Promise<string> {
  const sql = postgres({ host: '127.0.0.1', port, user, pass: password, database: 'db', max: 1, fetch_types: false, prepare: false });
  try {
    const rows = await sql.unsafe<{ ok: string }[]>('SELECT 1');
    return rows[0]?.ok ?? '';
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe('ScramServerSession with real drivers', () => {
  it('node-postgres logs in with SCRAM-SHA-256', async () => {
    expect(await viaNodePostgres('alice', 'alice pw')).toBe('yes');
    expect(attempts.at(-1)).toEqual({ user: 'alice', method: 'scram', ok: true });
  });

  it('node-postgres with a wrong password gets 28P01', async () => {
    await expect(viaNodePostgres('alice', 'alice PW')).rejects.toMatchObject({ code: '28P01' });
    expect(attempts.at(-1)).toEqual({ user: 'alice', method: 'scram', ok: false });
  });

  it('an unknown user fails the same way (mock exchange)', async () => {
    await expect(viaNodePostgres('nobody', 'x')).rejects.toMatchObject({ code: '28P01' });
    expect(attempts.at(-1)).toEqual({ user: 'nobody', method: 'scram', ok: false });
  });

  it('node-postgres with a non-ASCII password in another Unicode form (SASLprep)', async () => {
    expect(await viaNodePostgres('ünicode', 'pa\u0308sswo\u0308rd IX')).toBe('yes');
  });

  it('postgres.js logs in with SCRAM-SHA-256 and is refused with a wrong password', async () => {
    expect(await viaPostgresJs('alice', 'alice pw')).toBe('yes');
    await expect(viaPostgresJs('alice', 'nope')).rejects.toMatchObject({ code: '28P01' });
  });

  it('node-postgres logs in with md5 and is refused with a wrong password', async () => {
    expect(await viaNodePostgres('bob', 'bob pw')).toBe('yes');
    expect(attempts.at(-1)).toEqual({ user: 'bob', method: 'md5', ok: true });
    await expect(viaNodePostgres('bob', 'alice pw')).rejects.toMatchObject({ code: '28P01' });
  });
});
