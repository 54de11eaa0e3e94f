// One authenticated server connection owned by a pool. While linked to a client, every byte from
// the server goes to that client's `onServerData` (the hot path lives in frontend/client.ts); while
// idle, anything the server says is either an asynchronous message we drop or a FATAL before it
// closes, and the pool forgets the connection.
import type { Socket } from 'node:net';
import { BE_ERROR_RESPONSE } from '../net/codes.ts';
import type { DisconnectReason } from '../errors.ts';
import { Scanner, type ScanSink } from '../net/scanner.ts';
import * as msg from '../net/messages.ts';
import { ServerStatements } from '../prepared/registry.ts';
import { NO_SETTINGS } from '../frontend/session-settings.ts';
import { discardAheadSupported, FLUSH_AHEAD, ResetReplies } from './reset-ahead.ts';

/** How long a closed connection waits for the server's own close after Terminate. */
const TERMINATE_WAIT_MS = 5_000;

export interface ServerLink {
  onServerData(chunk: Buffer): void;
  onServerClosed(server: ServerConnection, reason: DisconnectReason): void;
  /** The reset sent ahead of this link's first bytes has answered (reset-ahead.ts): what was held may go. */
  onResetAnswered?(): void;
}

export interface ServerOwner {
  onServerGone(server: ServerConnection, reason: DisconnectReason): void;
}

let nextServerId = 1;

export class ServerConnection implements ScanSink {
  readonly id = nextServerId++;
  readonly socket: Socket;
  readonly params: Map<string, string>;
  readonly processId: number;
  readonly secretKey: number;
  readonly host: string;
  readonly port: number;
  readonly createdAt = Date.now();
  /** Time it last went idle, for idle_timeout. */
  idleSince = Date.now();
  /** Server → client stream position; persists across clients. */
  readonly scanner: Scanner;
  link: ServerLink | null = null;
  /**
   * A client ran something here that may have left session state behind (a statement executed,
   * a portal bound, a function called, an error): DISCARD ALL before the next client (reset.ts).
   */
  dirty = false;
  /**
   * CancelRequests sent for this connection and not yet delivered (cancel-router.ts). It goes to no
   * other client before they are: a late one would stop that client's query (reset.ts).
   */
  cancelsInFlight = 0;
  /** The reset (or release) that waits for cancelsInFlight to reach 0. */
  afterCancels: (() => void) | null = null;
  /** A client parameter map this connection's tracked parameters are known to match (fast checkout). */
  paramsFor: ReadonlyMap<string, string> | null = null;
  /** reset.ts: the client parameter map whose tracked values `restoreSql` gives back after DISCARD ALL (null: none). */
  restoreFor: ReadonlyMap<string, string> | null = null;
  restoreSql: string | null = null;
  /** The session settings (beyond the tracked parameters) the pooler gave it: a client's interned map (frontend/session-settings.ts). */
  session: ReadonlyMap<string, string> = NO_SETTINGS;
  /**
   * The linked client's transaction may have changed a session setting (a CommandComplete SET,
   * RESET or DISCARD, a ParameterStatus: reply-inspector.ts): the reset reads them first (reset.ts).
   */
  settingsChanged = false;
  /** A DECLARE CURSOR ran since the last reset: a WITH HOLD cursor may exist (frontend/pin.ts). */
  cursorDeclared = false;
  /** The session defaults this connection reported at start-up (what RESET returns to). */
  readonly defaults: ReadonlyMap<string, string>;
  /** Pooler-named prepared statements that exist on this connection (transaction mode). */
  readonly statements = new ServerStatements();
  closed = false;
  /** Parked unreset for this client (pool.ts park): no one else gets it before its reset. */
  parkedFor: object | null = null;
  /** Set when the target changed or RECONNECT was asked: close instead of reusing. */
  retired = false;
  /** The server commits DISCARD ALL at once after an Execute: the reset may go ahead of the next client's bytes (reset-ahead.ts). */
  readonly resetsAhead: boolean;
  /**
   * A DISCARD ALL was sent ahead of whatever follows and has not answered: its replies are taken
   * off the stream before anyone sees it, and a client's bytes beyond those that rode with it wait
   * (client.ts forward). Null otherwise.
   */
  resetAhead: ResetReplies | null = null;
  /** A Flush went after the reset sent ahead (flushReset). */
  private resetFlushed = false;
  private readonly owner: ServerOwner;

  constructor(
    owner: ServerOwner,
    socket: Socket,
    init: { params: Map<string, string>; processId: number; secretKey: number; host: string; port: number },
  ) {
    this.owner = owner;
    this.socket = socket;
    this.params = init.params;
    this.defaults = new Map(init.params);
    this.processId = init.processId;
    this.secretKey = init.secretKey;
    this.host = init.host;
    this.port = init.port;
    this.scanner = new Scanner(0x7fffffff);
    this.resetsAhead = discardAheadSupported(init.params.get('server_version'));
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => {
      if (this.resetAhead !== null) {
        const rest = this.resetAheadReplies(chunk);
        if (rest === null) return;
        chunk = rest;
      }
      if (this.link !== null) this.link.onServerData(chunk);
      else this.onIdleData(chunk);
    });
    socket.on('error', () => this.close('server_lost'));
    socket.on('close', () => this.close('server_lost'));
  }

  /** Sends DISCARD ALL ahead of the bytes written next (reset.ts); the caller has corked the socket. */
  sendResetAhead(discard: Buffer): void {
    this.resetAhead = new ResetReplies((name, value) => {
      this.params.set(name, value);
      this.paramsFor = null;
    });
    this.resetFlushed = false;
    this.socket.write(discard);
  }

  /**
   * Nothing that follows the reset sent ahead will make the server send its replies (a client's
   * bytes are held, the connection went idle): a Flush does (protocol docs, "Extended Query").
   */
  flushReset(): void {
    if (this.resetAhead === null || this.resetFlushed || this.closed) return;
    this.resetFlushed = true;
    this.socket.write(FLUSH_AHEAD);
  }

  /** The reset's replies taken off `chunk`: what follows them, or null (not all in yet, or it failed and the connection closed). */
  private resetAheadReplies(chunk: Buffer): Buffer | null {
    const rest = this.resetAhead!.consume(chunk);
    if (rest === 'failed') {
      this.resetAhead = null;
      this.close('reset_failed');
      return null;
    }
    if (rest === null) return null;
    this.resetAhead = null;
    this.link?.onResetAnswered?.();
    return rest.length === 0 || this.closed ? null : rest;
  }

  /** Idle connections only see asynchronous messages or a FATAL error just before the server hangs up. */
  private onIdleData(chunk: Buffer): void {
    try {
      this.scanner.scan(chunk, this);
    } catch {
      this.close('server_error');
    }
  }

  onMessage(type: number): void {
    if (type === BE_ERROR_RESPONSE /* while idle: the server is going away (e.g. admin shutdown) */) {
      this.close('server_error');
    }
  }

  close(reason: DisconnectReason): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.socket.destroyed) {
      if (reason !== 'server_lost' && this.socket.writable) {
        // Terminate, then wait for the server to close its end: by then its backend has left
        // pg_stat_activity and freed its slot (proc_exit runs the shared-memory cleanup before the
        // socket closes), and fleet budgets count a closing connection until 'close'
        // (Pool.closeForLease, ClusterGate). Read on (client-flow.ts may have paused the socket
        // for a slow client) or the server's close is never seen; bounded for a server that never
        // closes.
        const socket = this.socket;
        socket.end(msg.terminate());
        socket.resume();
        const timer = setTimeout(() => socket.destroy(), TERMINATE_WAIT_MS);
        timer.unref();
        socket.once('close', () => clearTimeout(timer));
      } else this.socket.destroySoon();
    }
    const link = this.link;
    this.link = null;
    if (link) link.onServerClosed(this, reason);
    this.owner.onServerGone(this, reason);
  }
}
