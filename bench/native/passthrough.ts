// A 1:1 TCP pass-through (no pooling: every client connection gets its own server connection for
// its lifetime), the floor the issue-15 experiment measures. Engines:
//   js            - Node streams: client.pipe(server), server.pipe(client);
//   native-thread - the addon's own epoll thread moves the bytes (forward.c);
//   native-uv     - the addon's uv_poll handles on this process's event loop move the bytes.
// In every engine Node accepts and connects; for the native ones it then hands both descriptors
// to the addon (which dup()s them) and destroys its sockets. Sockets are noDelay like the pooler's.
//
//   node bench/native/passthrough.ts --engine js --port 6500 --target-host 127.0.0.1 --target-port 5432
// prints "listening <port>" once accepting.
import { connect, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { buildForwarder, loadForwarder, type Forwarder } from './build.ts';

export const engines = ['js', 'native-thread', 'native-uv'] as const;
export type Engine = (typeof engines)[number];

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'js' },
    port: { type: 'string', default: '0' },
    'target-host': { type: 'string', default: '127.0.0.1' },
    'target-port': { type: 'string' },
  },
});
const engine = engines.find((e) => e === values.engine);
if (!engine) throw new Error(`--engine must be one of ${engines.join(', ')}`);
if (!values['target-port']) throw new Error('--target-port is required');
const targetPort = Number(values['target-port']);
const targetHost = values['target-host'] ?? '127.0.0.1';

let forwarder: Forwarder | undefined;
if (engine !== 'js') {
  const built = buildForwarder();
  if (!built.ok) throw new Error(`native forwarder unavailable: ${built.reason}`);
  forwarder = loadForwarder(built.path);
  if (engine === 'native-uv' && !forwarder.stats().uv) throw new Error('native forwarder was built without uv.h: engine native-uv unavailable');
}

function fdOf(s: Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no descriptor');
  return fd;
}

const server = createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
  const upstream = connect({ host: targetHost, port: targetPort, noDelay: true });
  const fail = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', fail).on('close', fail);
  upstream.on('error', fail).on('close', fail);
  upstream.once('connect', () => {
    if (forwarder) {
      // PostgreSQL speaks only after the client's startup message, so nothing is in flight yet.
      upstream.pause();
      forwarder.attach(fdOf(client), fdOf(upstream), engine === 'native-uv' ? 'uv' : 'thread');
      client.removeAllListeners('close');
      upstream.removeAllListeners('close');
      client.destroy();
      upstream.destroy();
      return;
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
});
server.listen(Number(values.port), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : values.port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
