// A tenant with a fixed-host destination controls the "server" the pooler logs in to. While the
// pooler derives that server's SCRAM keys (auth/scram-keys.ts: off the event loop, possibly queued
// behind other logins' derivations), the server is waiting for our SASLResponse and has no reason
// to send anything. A hostile one floods instead; the pooler must stop reading from it until the
// keys are ready (backpressure to the kernel's socket buffers), not buffer the flood in memory for
// as long as the derivation lasts. Real sockets; the server is a stand-in that floods.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverScramKeys } from '../../pooler/src/auth/scram-keys.ts';
import { connectServer } from '../../pooler/src/backend/connect.ts';
import { MessageFramer } from '../../pooler/src/net/framer.ts';
import * as msg from '../../pooler/src/net/messages.ts';

/** Several seconds of PBKDF2 (off the event loop), so an unread flood would have time to pile up. */
const ITERATIONS = 5_000_000;
/** The flood stops here whatever happens (what the test process may buffer without the fix). */
const FLOOD_CAP = 256 * 1024 * 1024;
/** Kernel socket buffers on loopback (tcp_rmem max 32 MiB, tcp_wmem max 4 MiB here) and our 1 MiB chunk. */
const BOUND = 64 * 1024 * 1024;
const CHUNK = msg.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'x'.repeat(1024 * 1024) });

let server: Server;
let port = 0;
/** Bytes the server could hand to its socket before the pooler's SASLResponse arrived. */
let flooded = -1;

function serve(socket: Socket): void {
  socket.on('error', () => undefined);
  let startup = true;
  let flooding = false;
  let written = 0;
  const framer = new MessageFramer(1 << 20);
  const flood = (): void => {
    while (flooding && written < FLOOD_CAP) {
      written += CHUNK.length;
      if (!socket.write(CHUNK)) return void socket.once('drain', flood);
    }
  };
  socket.on('data', (d: Buffer) => {
    if (startup) {
      // The StartupMessage (no SSLRequest: the target has no tls): ask for SCRAM.
      startup = false;
      socket.write(msg.authenticationSasl(['SCRAM-SHA-256']));
      return;
    }
    framer.push(d);
    for (let m = framer.next(); m !== undefined; m = framer.next()) {
      if (!flooding && flooded < 0) {
        // SASLInitialResponse: "SCRAM-SHA-256\0" Int32 length, then "n,,n=,r=<client nonce>".
        const data = m.body.subarray(m.body.indexOf(0) + 5).toString('utf8');
        const nonce = data.slice(data.indexOf('r=') + 2);
        socket.write(msg.authenticationSaslContinue(`r=${nonce}server,s=${Buffer.from('flood-salt').toString('base64')},i=${ITERATIONS}`));
        flooding = true;
        flood();
      } else if (flooding) {
        // The SASLResponse: the keys are derived. Done.
        flooding = false;
        flooded = written;
        socket.destroy();
      }
    }
  });
}

beforeAll(async () => {
  serverScramKeys.maxIterations = ITERATIONS;
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('server start-up while the SCRAM keys are derived', () => {
  it('the pooler reads nothing more from the server until its SASLResponse is ready', async () => {
    const outcome = await connectServer({ host: '127.0.0.1', port, database: 'd', user: 'u', password: 'p' }, 120_000).then(
      () => 'connected',
      (err: Error) => err.message,
    );
    // The stand-in closes after the SASLResponse: the start-up fails, having sent it.
    expect(outcome).toMatch(/closed the connection during start-up/);
    console.info(`bytes the server could send while the keys were derived: ${(flooded / 1048576).toFixed(1)} MiB`);
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThan(BOUND);
  }, 180_000);
});
