// The local stack's console reader (pooler-observer.ts) must not wait forever on a pooler that
// accepted the session but stopped answering (SIGSTOP, a blocked event loop): the failover's
// "pooler applied the new version" wait (local/failover.ts) and GET /status await it, and a hung
// failover keeps the stack's `#failing` set — no reconcile, no standby rebuild — for good.
// The fake server below completes the startup (AuthenticationOk, ReadyForQuery: protocol-flow
// "Start-up") and then never answers a query.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { message } from '../test/helpers/raw-protocol.ts';
import { PoolerConsole } from './pooler-observer.ts';

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server that lets a client in, then swallows every query. */
async function silentAfterStartup(): Promise<number> {
  // allowHalfOpen: like a stopped process, it never closes its side when the client ends.
  server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    let started = false;
    s.on('data', () => {
      if (started) return;
      started = true;
      const authOk = message('R', Buffer.from([0, 0, 0, 0]));
      s.write(Buffer.concat([authOk, message('Z', Buffer.from('I'))]));
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server!.address() as { port: number }).port;
}

describe('PoolerConsole against a pooler that stops answering', () => {
  it('appliedConfigVersion() fails within a bound instead of waiting forever', async () => {
    const port = await silentAfterStartup();
    const c = new PoolerConsole('127.0.0.1', port, 'pw');
    try {
      const outcome = await Promise.race([
        c.appliedConfigVersion().then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise<string>((r) => setTimeout(() => r('still waiting'), 40_000).unref()),
      ]);
      expect(outcome).toBe('failed');
    } finally {
      await c.close();
    }
  }, 60_000);
});
