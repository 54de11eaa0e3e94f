// The supervisor's loopback CancelRequest relay. A CancelRequest arrives on a new connection
// (protocol docs, "Canceling Requests in Progress"), and with SO_REUSEPORT the kernel may hand that
// connection to any worker. Each worker is a cancel-key node whose siblings are peers at this
// relay's address (worker-config.ts); the worker that got a key it did not issue forwards the
// CancelRequest here, unchanged, as it would to another machine, and the relay passes it over IPC
// to the worker(s) of the key's node. One stable port for the supervisor's lifetime, so a
// restarted worker changes nothing in its siblings' configuration.
//
// Like PostgreSQL (and Pooler.cancel), the relay closes the requester's connection only once the
// cancel was delivered to the server, so the requester can tell when a late signal can no longer
// hit its next query: the sender half-closes after the 16 bytes, and we answer the close later.
//
// The same listener is the peer port of `cluster.node_id: auto` (docs/workers.md): other poolers
// forward cancels for this machine's node ids there. What arrives on a relay is delivered only to
// the process that owns the key's node (Pooler.cancelOwn), never forwarded again: a cancel makes
// at most one hop between poolers, so no configuration or stale view can make it loop. The
// requester is not trusted: the owner checks the key's secret as for any CancelRequest.
import { createServer, type Server, type Socket } from 'node:net';
import { CANCEL_REQUEST_CODE } from '../net/startup.ts';
import type { Logger } from '../log.ts';

/** Int32 length (16), Int32 80877102, Int32 process id, Int32 secret key. */
const CANCEL_REQUEST_LENGTH = 16;

/** Passes a cancel on; resolves false when no worker has the key's node, else once delivered. */
export type DeliverCancel = (processId: number, secretKey: number) => Promise<boolean>;

/** Connections a relay holds at once (each lives until its cancel is delivered, at most 10 s). */
export const MAX_RELAY_CONNECTIONS = 1024;

export class CancelRelay {
  readonly #server: Server;
  readonly #log: Logger;
  /** CancelRequests passed on to a worker (metrics). */
  relayed = 0;

  private constructor(deliver: DeliverCancel, log: Logger) {
    this.#log = log;
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#serve(socket, deliver));
    this.#server.on('error', (err) => log.error({ err: err.message }, 'cancel relay listener error'));
  }

  /** Listens on `at` (default: a free loopback port, the workers' relay). */
  static start(deliver: DeliverCancel, log: Logger, at: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<CancelRelay> {
    const relay = new CancelRelay(deliver, log);
    relay.#server.maxConnections = MAX_RELAY_CONNECTIONS;
    return new Promise((resolve, reject) => {
      relay.#server.once('error', reject);
      relay.#server.listen(at.port, at.host, () => {
        relay.#server.removeListener('error', reject);
        resolve(relay);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  #serve(socket: Socket, deliver: DeliverCancel): void {
    let got = Buffer.alloc(0);
    let taken = false;
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('end', () => {
      if (!taken) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      if (taken) return;
      got = Buffer.concat([got, chunk]);
      if (got.length < CANCEL_REQUEST_LENGTH) return;
      taken = true;
      if (got.length !== CANCEL_REQUEST_LENGTH || got.readInt32BE(0) !== CANCEL_REQUEST_LENGTH || got.readInt32BE(4) !== CANCEL_REQUEST_CODE) {
        this.#log.warn('cancel relay got something other than a CancelRequest; dropped');
        socket.destroy();
        return;
      }
      const processId = got.readInt32BE(8);
      deliver(processId, got.readInt32BE(12)).then(
        (sent) => {
          if (sent) this.relayed++;
          else this.#log.warn({ processId }, 'cancel relay: the node of this key is not served here; dropped');
          socket.destroy();
        },
        () => socket.destroy(),
      );
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
