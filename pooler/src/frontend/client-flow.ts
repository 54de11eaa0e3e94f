// Backpressure between a client's socket and its server connection's (net/backpressure.ts has the
// bounds and why). Forwarded bytes are paced by the sockets: a full server socket pauses the
// client, a full client socket pauses the server, each resumed by the other's 'drain'. What the
// pooler holds or answers itself (queued input, a prepared session's requests and local replies,
// a lost transaction's answers) is paced here: past a high-water mark the client is throttled
// (not read) until every backlog is below its low-water mark.
import type { Socket } from 'node:net';
import type { ServerConnection } from '../backend/server.ts';
import { INPUT_HIGH_WATER, OUTPUT_HIGH_WATER, OUTSTANDING_HIGH_WATER, OUTSTANDING_LOW_WATER, onceDrain, writeAll } from '../net/backpressure.ts';
import { FE_FLUSH } from '../net/codes.ts';
import { CLOSED, type ClientState } from './client-state.ts';

/** Flush: makes the server send the replies it holds back (protocol docs, "Extended Query"). */
export const FLUSH = Buffer.from([FE_FLUSH, 0, 0, 0, 4]);

/** The client connection, as its backpressure sees it. */
export interface FlowClient {
  readonly socket: Socket;
  readonly server: ServerConnection | null;
  readonly state: ClientState;
  /** A client with named prepared statements: its requests awaiting replies, its buffered input. */
  readonly prepared: { readonly outstanding: number; readonly framer: { readonly buffered: number } } | null;
  /** Otherwise: bytes queued while it has no server connection. */
  readonly queuedBytes: number;
}

/** A prepared session's requests still awaiting replies (0 on the fast path). */
function outstandingRequests(c: FlowClient): number {
  return c.prepared === null ? 0 : c.prepared.outstanding;
}

/** Bytes held for the client while it has no server connection. */
function heldInput(c: FlowClient): number {
  if (c.prepared === null) return c.queuedBytes;
  return c.server === null ? c.prepared.framer.buffered : 0;
}

export class ClientFlow {
  private readonly client: FlowClient;
  /** Not read because a backlog passed its high-water mark. */
  throttled = false;
  private drainHooked = false;
  private unthrottleFn: (() => void) | null = null;
  /** 'drain' listeners, created at the first backpressure (most clients never see any). */
  private resumeServerFn: (() => void) | null = null;
  private resumeClientFn: (() => void) | null = null;

  constructor(client: FlowClient) {
    this.client = client;
  }

  private get resumeServer(): () => void {
    return (this.resumeServerFn ??= () => this.client.server?.socket.resume());
  }

  private get resumeClient(): () => void {
    return (this.resumeClientFn ??= () => {
      if (!this.throttled) this.client.socket.resume();
    });
  }

  /** Writes `bufs` to the server; a full socket stops reading the client until it drains. */
  toServer(bufs: Buffer[]): void {
    const server = this.client.server!;
    if (!writeAll(server.socket, bufs)) this.serverFull(server);
  }

  /** Writes `bufs` to the client; a full socket stops reading the server until it drains. */
  toClient(bufs: Buffer[]): void {
    if (bufs.length === 0) return;
    const server = this.client.server;
    if (!writeAll(this.client.socket, bufs) && server !== null) this.clientFull(server);
  }

  /** A write to the server socket found it full: stop reading the client until it drains. */
  serverFull(server: ServerConnection): void {
    this.client.socket.pause();
    onceDrain(server.socket, this.resumeClient);
  }

  /** A write to the client found its socket full: stop reading `server` until it drains. */
  clientFull(server: ServerConnection): void {
    server.socket.pause();
    onceDrain(this.client.socket, this.resumeServer);
  }

  /**
   * After input the pooler answers or holds itself (a prepared session's, a lost transaction's):
   * the pooler's own replies, the requests awaiting replies, and the bytes held without a server
   * connection are bounded; past a high-water mark, stop reading the client.
   */
  afterPooledInput(): void {
    const c = this.client;
    const server = c.server;
    if (outstandingRequests(c) > OUTSTANDING_HIGH_WATER && server !== null) {
      // The server may hold back replies to those requests until a Sync or Flush the client has
      // not sent yet (it flushes when its buffer fills, or at Sync/Flush): ask for them, so that the
      // outstanding requests can drain while the client is not read. No reply, harmless in COPY.
      if (!server.socket.write(FLUSH)) this.serverFull(server);
      this.throttle();
    } else if (c.socket.writableLength > OUTPUT_HIGH_WATER || heldInput(c) > INPUT_HIGH_WATER) {
      this.throttle();
    }
  }

  /** Stops reading the client until unthrottle() finds its backlog gone. */
  throttle(): void {
    if (!this.throttled) {
      this.throttled = true;
      this.client.socket.pause();
    }
    this.awaitClientDrain();
  }

  /** Calls unthrottle() once the client has taken every reply written to it ('drain'). */
  private awaitClientDrain(): void {
    const socket = this.client.socket;
    if (this.drainHooked || !socket.writableNeedDrain) return;
    this.drainHooked = true;
    socket.once(
      'drain',
      (this.unthrottleFn ??= () => {
        this.drainHooked = false;
        this.unthrottle();
      }),
    );
  }

  /** Reads the client again if it was throttled and every backlog is below its low-water mark. */
  unthrottle(): void {
    const c = this.client;
    if (!this.throttled || c.state === CLOSED) return;
    if (c.socket.writableLength > OUTPUT_HIGH_WATER / 4) return this.awaitClientDrain();
    const server = c.server;
    if (outstandingRequests(c) > OUTSTANDING_LOW_WATER) {
      // Their replies may be held by the server until a Sync or Flush that this unread client
      // has not got through (e.g. requests sent by linkServer's drain): ask for them, else
      // neither side moves. Only while throttled, at most once per server chunk or 'drain'
      // (written as is: this client is paused already, and resumed below, not by 'drain').
      if (server !== null) server.socket.write(FLUSH);
      return;
    }
    if (heldInput(c) > INPUT_HIGH_WATER) return;
    this.throttled = false;
    // A full server socket keeps the client paused; its 'drain' resumes it (as in serverFull).
    if (server !== null && server.socket.writableNeedDrain) onceDrain(server.socket, this.resumeClient);
    else c.socket.resume();
  }

  /** `server` was detached from the client: undoes any pause between the two sockets. */
  unlinked(server: ServerConnection): void {
    if (this.resumeClientFn !== null) server.socket.removeListener('drain', this.resumeClientFn);
    if (this.resumeServerFn !== null) this.client.socket.removeListener('drain', this.resumeServerFn);
    server.socket.resume();
    if (this.throttled) this.unthrottle();
    else this.client.socket.resume();
  }
}
