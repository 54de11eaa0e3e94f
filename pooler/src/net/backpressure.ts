// How much the pooler holds for one client connection before it stops reading that client.
//
// The proxy's own forwarding is paced by the sockets at both ends (a full server socket pauses the
// client, a full client socket pauses the server). What the pooler answers itself (a prepared
// session's ParseComplete/CloseComplete, a lost transaction's 25P02, the admin console) and what it holds
// for a client without a server connection (checkout queue, PAUSE) has no such pace: a client
// that sends and never reads would grow the process without limit. So past a high-water mark the
// pooler pauses the client's socket (its TCP window closes, its writes block) and resumes once the
// backlog is gone — as PostgreSQL stops reading while its writes block, and PgBouncer stops
// reading a client whose packet buffer is full. Checked once per received chunk, never per message.
// docs/transaction-mode.md ("Limits") lists these bounds.
import type { Socket } from 'node:net';

/** Replies written to a client and not yet taken by it, beyond which the client is not read (bytes). */
export const OUTPUT_HIGH_WATER = 1024 * 1024;

/** Bytes held for a client that waits for a server connection, beyond which it is not read. */
export const INPUT_HIGH_WATER = 1024 * 1024;

/**
 * A prepared session (frontend/prepared-session.ts): requests whose replies are still awaited (one
 * small record each), beyond which the client is not read, and below which it is read again.
 */
export const OUTSTANDING_HIGH_WATER = 16_384;
export const OUTSTANDING_LOW_WATER = 4_096;

/**
 * Calls `fn` at `socket`'s next 'drain', unless it is already waiting for it. Each write that
 * finds a socket full would otherwise add one more listener (a burst of replies, a server chunk
 * per message): harmless copies at best, and past ten Node warns of a leak.
 */
export function onceDrain(socket: NodeJS.EventEmitter, fn: () => void): void {
  if (!socket.listeners('drain').includes(fn)) socket.once('drain', fn);
}

/**
 * Writes several buffers as one writev (many, e.g. a prepared session's 5-byte local replies, as
 * one buffer: each buffer queued in a socket costs far more than its bytes); returns false when
 * the socket wants the caller to wait.
 */
export function writeAll(socket: Socket, bufs: Buffer[]): boolean {
  if (bufs.length === 1) return socket.write(bufs[0]!);
  if (bufs.length > 16) return socket.write(Buffer.concat(bufs));
  socket.cork();
  let ok = true;
  for (const b of bufs) ok = socket.write(b);
  socket.uncork();
  return ok;
}
