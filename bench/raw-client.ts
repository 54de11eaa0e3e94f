// A bare PostgreSQL client for the 100,000-idle-clients test (idle-clients.ts): one socket that logs
// in with SCRAM-SHA-256 (RFC 5802/7677; protocol flow:
// https://www.postgresql.org/docs/current/sasl-authentication.html), waits for ReadyForQuery and
// then holds the connection idle. A `pg.Client` costs the bench process ~10 KiB and a PBKDF2 per
// login; 100,000 of them would make the bench, not the pooler, the limit. Here the salted password
// is computed once per (salt, iterations) — the pooler answers with the stored verifier's salt every
// time — so a login costs the client two HMACs, like the pooler's side.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawLogin {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

const clientKeys = new Map<string, Buffer>();

function clientKey(password: string, salt: string, iterations: number): Buffer {
  const k = `${salt}:${iterations}`;
  let key = clientKeys.get(k);
  if (!key) {
    const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    key = createHmac('sha256', salted).update('Client Key').digest();
    clientKeys.set(k, key);
  }
  return key;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function startup(user: string, database: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
  const b = Buffer.alloc(8 + params.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(b, 8);
  return b;
}

/** Opens one connection from `localAddress`, logs in and resolves with the idle socket. */
export function rawLogin(login: RawLogin, localAddress: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: login.host, port: login.port, localAddress });
    const nonce = randomBytes(18).toString('base64');
    const firstBare = `n=,r=${nonce}`;
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('login timed out')), timeoutMs);
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed during login')));
    sock.on('connect', () => sock.write(startup(login.user, login.database)));
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) return;
        const type = String.fromCharCode(buf[0] ?? 0);
        const body = buf.subarray(5, 1 + len);
        buf = buf.subarray(1 + len);
        if (type === 'E') return fail(new Error(`login refused: ${body.toString('utf8').replace(/\0/g, ' ').trim()}`));
        if (type === 'Z') {
          done = true;
          clearTimeout(timer);
          sock.removeAllListeners('data');
          sock.removeAllListeners('close');
          sock.removeAllListeners('error');
          sock.on('error', () => {});
          resolve(sock);
          return;
        }
        if (type !== 'R') continue; // ParameterStatus, BackendKeyData
        const code = body.readInt32BE(0);
        if (code === 10) {
          const first = Buffer.from(`n,,${firstBare}`, 'utf8');
          const len4 = Buffer.alloc(4);
          len4.writeInt32BE(first.length, 0);
          sock.write(message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0', 'utf8'), len4, first])));
        } else if (code === 11) {
          const serverFirst = body.subarray(4).toString('utf8');
          const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
          const r = attrs.get('r') ?? '';
          const s = attrs.get('s') ?? '';
          const i = Number(attrs.get('i'));
          if (!r.startsWith(nonce) || !s || !Number.isInteger(i)) return fail(new Error(`bad SCRAM server-first-message: ${serverFirst}`));
          const withoutProof = `c=biws,r=${r}`;
          const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
          const key = clientKey(login.password, s, i);
          const stored = createHash('sha256').update(key).digest();
          const signature = createHmac('sha256', stored).update(authMessage).digest();
          const proof = Buffer.alloc(32);
          for (let j = 0; j < 32; j++) proof[j] = (key[j] ?? 0) ^ (signature[j] ?? 0);
          sock.write(message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8')));
        } else if (code !== 12 && code !== 0) {
          return fail(new Error(`unexpected authentication request ${code}`));
        }
      }
    });
  });
}

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

/** Logs in, sends Terminate and resolves once the pooler has closed the connection (login benches). */
export async function rawLoginAndLeave(login: RawLogin, timeoutMs: number, localAddress = '127.0.0.1'): Promise<void> {
  const sock = await rawLogin(login, localAddress, timeoutMs);
  await new Promise<void>((resolve) => {
    sock.once('close', () => resolve());
    sock.on('data', () => {});
    sock.end(TERMINATE);
  });
}
