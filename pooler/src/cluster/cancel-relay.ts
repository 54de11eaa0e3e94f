// The supervisor's loopback CancelRequest relay. A CancelRequest arrives on a new connection
// (protocol docs, "Canceling Requests in Progress"), and with SO_REUSEPORT the kernel may hand that
// connection to any worker. Each worker is a cancel-key node whose siblings are peers at this
// relay's address (worker-config.ts); the worker that got a key it did not issue forwards the
// CancelRequest here, unchanged, as it would to another machine, and the relay passes it over IPC
// to the worker(s) of the key's node. One stable port for the supervisor's lifetime, so a
// restarted worker changes nothing in its siblings' configuration.
import { createServer, type Server, type Socket } from 'node:net';
import { CANCEL_REQUEST_CODE } from '../net/startup.ts';
import type { Logger } from '../log.ts';

/** Int32 length (16), Int32 80877102, Int32 process id, Int32 secret key. */
const CANCEL_REQUEST_LENGTH = 16;

export class CancelRelay {
  readonly #server: Server;
  readonly #log: Logger;
  /** CancelRequests passed on to a worker (metrics). */
  relayed = 0;

  private constructor(deliver: (processId: number, secretKey: number) => boolean, log: Logger) {
    this.#log = log;
    this.#server = createServer((socket) => this.#serve(socket, deliver));
    this.#server.on('error', (err) => log.error({ err: err.message }, 'cancel relay listener error'));
  }

  static start(deliver: (processId: number, secretKey: number) => boolean, log: Logger): Promise<CancelRelay> {
    const relay = new CancelRelay(deliver, log);
    return new Promise((resolve, reject) => {
      relay.#server.once('error', reject);
      relay.#server.listen(0, '127.0.0.1', () => {
        relay.#server.removeListener('error', reject);
        resolve(relay);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  #serve(socket: Socket, deliver: (processId: number, secretKey: number) => boolean): void {
    let got = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < CANCEL_REQUEST_LENGTH) return;
      socket.destroy();
      if (got.length !== CANCEL_REQUEST_LENGTH || got.readInt32BE(0) !== CANCEL_REQUEST_LENGTH || got.readInt32BE(4) !== CANCEL_REQUEST_CODE) {
        this.#log.warn('cancel relay got something other than a CancelRequest; dropped');
        return;
      }
      const processId = got.readInt32BE(8);
      if (deliver(processId, got.readInt32BE(12))) this.relayed++;
      else this.#log.warn({ processId }, 'cancel relay: no running worker has the node of this key; dropped');
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
