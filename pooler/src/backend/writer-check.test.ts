// The writer check on a fresh server connection: decided from the in_hot_standby ParameterStatus
// when the server reported it (no round trip), else by asking pg_is_in_recovery() once — against a
// scripted server, so the query path (servers before PostgreSQL 14) is exercised too.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as msg from '../net/messages.ts';
import { ServerConnectError } from './connect.ts';
import { checkWriter, NotWriterError } from './writer-check.ts';

type Script = (socket: Socket, received: Buffer) => void;

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server that runs `script` on each chunk it receives; resolves with a connected client socket. */
async function scripted(script: Script): Promise<{ socket: Socket; received: () => Buffer }> {
  let got = Buffer.alloc(0);
  server = createServer((s) => {
    sockets.push(s);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      script(s, got);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, received: () => got };
}

const where = { host: '127.0.0.1', port: 1 };

function answer(value: string | null): Script {
  return (s) => s.write(Buffer.concat([msg.rowDescription([{ name: 'pg_is_in_recovery', typeOid: 16 }]), msg.dataRow([value]), msg.commandComplete('SELECT 1'), msg.readyForQuery('I')]));
}

function handshake(socket: Socket, params: Record<string, string> = {}) {
  return { socket, params: new Map(Object.entries(params)), processId: 1, secretKey: 2 };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('checkWriter', () => {
  it('trusts in_hot_standby=off without a round trip', async () => {
    const { socket, received } = await scripted(() => undefined);
    await checkWriter(handshake(socket, { in_hot_standby: 'off' }), where, 1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(received().length).toBe(0);
    expect(socket.destroyed).toBe(false);
  });

  it('refuses in_hot_standby=on and closes the connection', async () => {
    const { socket } = await scripted(() => undefined);
    const err = await rejection(checkWriter(handshake(socket, { in_hot_standby: 'on' }), where, 1000));
    expect(err).toBeInstanceOf(NotWriterError);
    expect(socket.destroyed).toBe(true);
  });

  it('asks pg_is_in_recovery() when the server did not report in_hot_standby, and accepts "f"', async () => {
    const { socket, received } = await scripted(answer('f'));
    await checkWriter(handshake(socket), where, 1000);
    // One simple Query went out; the socket is handed back clean.
    expect(received()[0]).toBe(0x51);
    expect(received().subarray(5).toString()).toBe('SELECT pg_is_in_recovery()\0');
    expect(socket.listenerCount('data')).toBe(0);
    expect(socket.listenerCount('close')).toBe(0);
    expect(socket.destroyed).toBe(false);
  });

  it('refuses a server answering "t" (in recovery)', async () => {
    const { socket } = await scripted(answer('t'));
    const err = await rejection(checkWriter(handshake(socket), where, 1000));
    expect(err).toBeInstanceOf(NotWriterError);
    expect(socket.destroyed).toBe(true);
  });

  it('handles an answer split across reads', async () => {
    const { socket } = await scripted((s) => {
      const all = Buffer.concat([msg.rowDescription([{ name: 'x', typeOid: 16 }]), msg.dataRow(['f']), msg.commandComplete('SELECT 1'), msg.readyForQuery('I')]);
      for (let i = 0; i < all.length; i += 3) s.write(all.subarray(i, i + 3));
    });
    await checkWriter(handshake(socket), where, 1000);
  });

  it('reports the SQLSTATE when the query fails', async () => {
    const { socket } = await scripted((s) => s.write(Buffer.concat([msg.errorResponse({ severity: 'ERROR', code: '42883', message: 'no such function' }), msg.readyForQuery('I')])));
    const err = await rejection(checkWriter(handshake(socket), where, 1000));
    expect(err).toBeInstanceOf(ServerConnectError);
    expect(err).not.toBeInstanceOf(NotWriterError);
    expect((err as ServerConnectError).serverSqlstate).toBe('42883');
  });

  it('times out when the server does not answer', async () => {
    const { socket } = await scripted(() => undefined);
    const err = await rejection(checkWriter(handshake(socket), where, 100));
    expect(err).toBeInstanceOf(ServerConnectError);
    expect((err as Error).message).toMatch(/timed out/);
    expect(socket.destroyed).toBe(true);
  });

  it('fails when the server hangs up', async () => {
    const { socket } = await scripted((s) => s.destroy());
    const err = await rejection(checkWriter(handshake(socket), where, 1000));
    expect(err).toBeInstanceOf(ServerConnectError);
  });
});
