// The floor under the pooler's CPU per login: a bare Node `net` server that does what a SCRAM login
// needs and nothing else — accept, StartupMessage, AuthenticationSASL, server-first-message, the
// proof checked against the stored verifier (two HMACs and a SHA-256, RFC 5802 §3), SASLFinal +
// AuthenticationOk + ParameterStatus + BackendKeyData + ReadyForQuery in one write, close on
// Terminate — with no pooling, limits, timers or per-client state. `compare-builds.ts` runs it
// beside real builds as `name=@bare` (AB_LOGINS), so Switchyard's cost per login is read against
// the runtime's own in the same interleaved rounds. A Query gets a canned `SELECT 1` answer (the
// bench's readiness probe). Not a server for anything else: one tenant, SCRAM only, no TLS.
//
//   node bench/bare-login-server.ts --config <switchyard yaml from compare-builds>
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

const configPath = process.argv[process.argv.indexOf('--config') + 1] ?? '';
const yaml = readFileSync(configPath, 'utf8');
const port = Number(/\bport: (\d+)/.exec(yaml)?.[1]);
const verifier = /(SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):([A-Za-z0-9+/=]+))/.exec(yaml);
if (!port || !verifier) throw new Error(`no port or verifier in ${configPath}`);
const iterations = verifier[2]!;
const salt = verifier[3]!;
const storedKey = Buffer.from(verifier[4]!, 'base64');
const serverKey = Buffer.from(verifier[5]!, 'base64');

function message(type: string, body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}
const int32 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
};
const auth = (code: number, data = ''): Buffer => message('R', Buffer.concat([int32(code), Buffer.from(data, 'utf8')]));
const status = (n: string, v: string): Buffer => message('S', Buffer.from(`${n}\0${v}\0`, 'utf8'));
const AFTER_OK = Buffer.concat([
  auth(0),
  ...Object.entries({ application_name: '', client_encoding: 'UTF8', DateStyle: 'ISO, MDY', integer_datetimes: 'on', IntervalStyle: 'postgres', is_superuser: 'off', server_encoding: 'UTF8', server_version: '15', session_authorization: 'bench', standard_conforming_strings: 'on', TimeZone: 'UTC' }).map(([n, v]) => status(n, v)),
]);
const READY = message('Z', Buffer.from('I'));
const SASL = auth(10, 'SCRAM-SHA-256\0\0');
const SELECT_1 = Buffer.concat([
  message('T', Buffer.concat([Buffer.from([0, 1]), Buffer.from('?column?\0'), int32(0), Buffer.from([0, 0]), int32(23), Buffer.from([0, 4]), int32(-1), Buffer.from([0, 0])])),
  message('D', Buffer.concat([Buffer.from([0, 1]), int32(1), Buffer.from('1')])),
  message('C', Buffer.from('SELECT 1\0')),
  READY,
]);
const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();
let nextPid = 1;

function onConnection(socket: Socket): void {
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let started = false;
  let clientFirstBare = '';
  let serverFirst = '';
  let nonce = '';
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (!started) {
        if (buf.length < 8) return;
        const len = buf.readInt32BE(0);
        if (buf.length < len) return;
        const code = buf.readInt32BE(4);
        buf = buf.subarray(len);
        if (code === 80877103) {
          socket.write('N'); // SSLRequest: no TLS here
          continue;
        }
        started = true;
        socket.write(SASL);
        continue;
      }
      if (buf.length < 5) return;
      const len = buf.readInt32BE(1);
      if (buf.length < 1 + len) return;
      const type = buf[0];
      const body = buf.subarray(5, 1 + len);
      buf = buf.subarray(1 + len);
      if (type === 0x58) return void socket.destroy(); // Terminate
      if (type === 0x51) {
        socket.write(SELECT_1);
        continue;
      }
      if (type !== 0x70) return void socket.destroy();
      if (serverFirst === '') {
        // SASLInitialResponse: mechanism, Int32 length, client-first-message "n,,n=…,r=<nonce>".
        const first = body.toString('utf8', body.indexOf(0) + 5);
        clientFirstBare = first.slice(first.indexOf(',', 2) + 1);
        nonce = /r=([^,]*)/.exec(clientFirstBare)![1]! + randomBytes(18).toString('base64');
        serverFirst = `r=${nonce},s=${salt},i=${iterations}`;
        socket.write(auth(11, serverFirst));
        continue;
      }
      const final = body.toString('utf8');
      const proofAt = final.lastIndexOf(',p=');
      const withoutProof = final.slice(0, proofAt);
      const authMessage = Buffer.from(`${clientFirstBare},${serverFirst},${withoutProof}`, 'utf8');
      const proof = Buffer.from(final.slice(proofAt + 3), 'base64');
      const signature = hmac(storedKey, authMessage);
      const clientKey = Buffer.allocUnsafe(32);
      for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ signature[i]!;
      if (!withoutProof.includes(`r=${nonce}`) || proof.length !== 32 || !timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey)) {
        socket.end(message('E', Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed\0\0')));
        return;
      }
      const key = message('K', Buffer.concat([int32(nextPid++), randomBytes(4)]));
      socket.write(Buffer.concat([auth(12, `v=${hmac(serverKey, authMessage).toString('base64')}`), AFTER_OK, key, READY]));
    }
  });
}

createServer({ noDelay: true }, onConnection).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
