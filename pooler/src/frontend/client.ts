// One logged-in client connection (frontend/login.ts authenticates it first): its state
// (client-state.ts), forwarding between the client and whichever server connection it holds,
// attaching and releasing that connection, and closing. Beside it, one concern per file: the hot
// path's scanning (fast-path.ts), or for a client with named prepared statements its session
// (prepared-session.ts); the server messages the pooler looks into (reply-inspector.ts); a
// transaction whose server connection died (lost-transaction.ts); the timeouts (client-timeouts.ts).
//
// Transaction pooling rule: a server connection goes back to the pool only on ReadyForQuery 'I'
// with no request outstanding (every Query, Sync and FunctionCall the client sent has had its
// ReadyForQuery) and with the client's stream at a message boundary, so the next client starts on
// a clean connection. Protocol docs, "Extended Query": each Sync yields exactly one ReadyForQuery.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { abandonServer } from '../backend/abandon.ts';
import type { Pool, PoolClient } from '../backend/pool.ts';
import type { ReadRouter } from '../backend/reader-router.ts';
import { resetServer } from '../backend/reset.ts';
import type { ServerConnection, ServerLink } from '../backend/server.ts';
import type { TenantRoute } from '../config/snapshot.ts';
import { PoolerError, type DisconnectReason } from '../errors.ts';
import type { Logger } from '../log.ts';
import { INPUT_HIGH_WATER } from '../net/backpressure.ts';
import { mayRide } from '../backend/reset-ahead.ts';
import * as codes from '../net/codes.ts';
import { ProtocolError } from '../net/framer.ts';
import * as msg from '../net/messages.ts';
import { withParam } from './session-params.ts';
import type { StatementRegistry } from '../prepared/registry.ts';
import type { TenantLatency } from '../stats/latency.ts';
import { leadingQueryText, type Shape } from '../stats/statement-shapes.ts';
import * as states from './client-state.ts';
import { mayEnter, stateName, type ClientState } from './client-state.ts';
import { ClientFlow, type FlowClient } from './client-flow.ts';
import { checkTimeouts } from './client-timeouts.ts';
import { FastPath, type FastPathClient } from './fast-path.ts';
import { afterServerLoss, preparedTextOf, type LostTransaction } from './lost-transaction.ts';
import { linkWithParams, type ReplayingClient } from './param-replay.ts';
import { pinLost, pinProbeFor, pinsOn, unpinOnClose, type Pin } from './pin.ts';
import { ClientListens, type NotifyHost } from './notify-client.ts';
import { runNotifyStatement } from './notify-run.ts';
import type { NotifyStatement } from './notify-statement.ts';
import type { ListenFailure, TenantListener } from '../backend/listener.ts';
import { PreparedSession, namedParseTooLate, type PreparedSessionHost } from './prepared-session.ts';
import { ReplyInspector, serverLostError, type InspectedClient } from './reply-inspector.ts';
import { NO_SETTINGS, parkable, withDefaults, type CaptureResult } from './session-settings.ts';
import { PORTAL_NONE } from './unnamed-portal.ts';

// Module-local copies of the imported constants: V8 reads an imported binding through its module
// cell on every use (measured: ~10 ns per transaction on the fast path), a local const not at all.
const ACTIVE = states.ACTIVE;
const CLOSED = states.CLOSED;
const IDLE = states.IDLE;
const LOGGING_IN = states.LOGGING_IN;
const LOST = states.LOST;
const WAITING = states.WAITING;
const FE_TERMINATE = codes.FE_TERMINATE;
const TX_FAILED = codes.TX_FAILED;
const TX_IDLE = codes.TX_IDLE;
const SERVER_BROKEN = states.SERVER_BROKEN;
const RELEASE_DUE = states.RELEASE_DUE;

/** A clock updated ten times a second: the hot path stamps activity without a syscall. */
let coarseNow = Date.now();
setInterval(() => (coarseNow = Date.now()), 100).unref();
/** Before login the client has no parameters; login gives it a shared map (session-params.ts). */
const NO_PARAMS: ReadonlyMap<string, string> = new Map();
/** Release at a transaction boundary: no transaction to roll back, no session to discard. */
const NOTHING_TO_UNDO = { rollback: false, discardAll: false } as const;

export interface ClientHost {
  readonly log: Logger;
  readonly maxMessageSize: number;
  readonly draining: boolean;
  /** A tenant's named prepared statements, shared by its clients (transaction mode). */
  statementRegistry(tenantId: string): StatementRegistry;
  /** Server-side prepared statements kept per server connection (LRU). */
  readonly preparedCacheSize: number;
  clientGone(client: ClientConnection, reason: DisconnectReason): void;
  /** The tenant's transaction and query time histograms (stats/latency.ts). */
  latencyFor(tenantId: string): TenantLatency;
  /** The tenant's listening connection (backend/listener.ts), for LISTEN in transaction mode. */
  listenerFor(route: TenantRoute): TenantListener;
}

let nextClientId = 1;

/** The client a socket belongs to, for the shared socket listeners below. */
const OWNER = Symbol('client');
type OwnedSocket = Socket & { [OWNER]?: ClientConnection };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER]!.onClientData(chunk);
}

function onSocketGone(this: OwnedSocket, err?: unknown): void {
  const client = this[OWNER]!;
  if (err instanceof Error && client.host.log.isLevelEnabled('debug')) client.log.debug({ err: err.message }, 'client socket error');
  client.close('client_close');
}

export class ClientConnection implements PoolClient, ServerLink, PreparedSessionHost, FastPathClient, InspectedClient, FlowClient, ReplayingClient, NotifyHost {
  readonly id = nextClientId++;
  readonly socket: Socket;
  readonly host: ClientHost;
  readonly connectedAt = Date.now();
  /** Where the client is (client-state.ts); changed only by enter(). */
  state: ClientState = LOGGING_IN;
  /** The pooler-issued BackendKeyData for this client (for CancelRequest). */
  processId = 0;
  secretKey = 0;
  route: TenantRoute | null = null;
  pool: Pool | null = null;
  /** Set for a client of the tenant's read endpoint: picks `pool` for each transaction. */
  reads: ReadRouter | null = null;
  /** Set exactly while ACTIVE. */
  server: ServerConnection | null = null;
  transactionMode = true;
  /** Created on first use: a child logger per client costs memory most clients never need. */
  private logger: Logger | undefined;
  /** Requests sent whose ReadyForQuery has not come back yet. */
  pending = 0;
  /** Transaction status from the last ReadyForQuery ('I', 'T' or 'E'). */
  txStatus = TX_IDLE;
  /**
   * Whether a Bind to the unnamed portal went to the server since the last Query (or since the
   * client got that server connection), and before or after the last Sync: PORTAL_NONE, _BATCH or
   * _EARLIER. Decides whether an Execute/Describe of '' may reach it (unnamed-portal.ts).
   */
  unnamedPortal = PORTAL_NONE;
  /** Stand-in Parses sent whose refusal (42601) is still to be answered as 34000. */
  portalGone = 0;
  /**
   * The forwarding machinery (fast path, reply inspector, backpressure) is made at first use, not at
   * login: an idle client holds none of it (≈ 400 B each, bench/README.md "Idle footprint").
   */
  #fast: FastPath | null = null;
  get fast(): FastPath {
    return (this.#fast ??= new FastPath(this, this.host.maxMessageSize));
  }
  /** Set once the client uses named prepared statements in transaction mode. */
  prepared: PreparedSession | null = null;
  #inspector: ReplyInspector | null = null;
  get inspector(): ReplyInspector {
    return (this.#inspector ??= new ReplyInspector(this));
  }
  /** client-timeouts.ts, once a second: an idle client has no inspector to tell. */
  repliesSettled(): void {
    this.#inspector?.requestsDone();
  }
  /** Set exactly while LOST. */
  private lost: LostTransaction | null = null;
  /** Chunks waiting for a server connection; null when none (never an empty array). */
  private queued: Buffer[] | null = null;
  /** Bytes in `queued`. */
  queuedBytes = 0;
  /** Backpressure between the client's socket and its server's (client-flow.ts). */
  #flow: ClientFlow | null = null;
  get flow(): ClientFlow {
    return (this.#flow ??= new ClientFlow(this));
  }
  /** Set by closeAtBoundary while a transaction is in progress: the close that is due at its end. */
  closeAfter: { readonly err: PoolerError; readonly reason: DisconnectReason } | null = null;
  /** Terminate came while something it sent before was outstanding: it closes once that is answered (terminate). */
  private terminating = false;
  /**
   * The ParameterStatus values this client was told (frontend/session-params.ts). Shared,
   * read-only, with its `defaults` (and other clients') until it changes one (session-params.ts withParam).
   */
  params: ReadonlyMap<string, string> = NO_PARAMS;
  /** The values it was told at login: what RESET and DISCARD ALL return it to. */
  defaults: ReadonlyMap<string, string> = NO_PARAMS;
  /** Its other session settings, read back after a transaction that may have changed one (session-settings.ts). */
  session: ReadonlyMap<string, string> = NO_SETTINGS;
  /** Its start-up settings beyond the tracked ones (`options`, other keys): what RESET returns them to. */
  sessionDefaults: ReadonlyMap<string, string> = NO_SETTINGS;
  /**
   * The reset of the connection it released is still to answer what the client needs to know (its
   * settings, session-settings.ts; whether it is pinned, pin.ts): its next request waits for it
   * rather than be given stale values or another connection.
   */
  awaitingRelease = 0;
  /** Pinned to a server connection (pin.ts): its next transactions go there. */
  pin: Pin | null = null;
  /** Its session could not be kept: the error its next request gets (then it is closed). */
  private refused: PoolerError | null = null;
  /** Server connections that broke while its session parameters were applied, in a row. */
  replayFailures = 0;
  /** Coarse time (ms) of the client's or its server's last bytes, for the idle timeouts. */
  lastActive = Date.now();
  /** When the oldest outstanding request started (0 = none), for query_timeout. */
  busySince = 0;
  /** Counters for SHOW CLIENTS / STATS. */
  transactions = 0;
  bytesIn = 0;
  bytesOut = 0;
  /**
   * Query and transaction timing (stats/latency.ts): performance.now() when the running query
   * (transaction) started, 0 when none runs. Stamped where a query starts on a linked server
   * connection (linkServer, or the first chunk while ACTIVE with none running) and read where a
   * ReadyForQuery leaves nothing outstanding (answered): one clock read at each end.
   */
  queryStart = 0;
  xactStart = 0;
  /** The statement shape the running query's time goes to (stats/statement-shapes.ts), if known. */
  private queryShape: Shape | null = null;
  private readonly latency: TenantLatency;
  /** Transaction mode, once it used LISTEN/UNLISTEN: its channels and notifications (notify-client.ts). */
  listens: ClientListens | null = null;
  /** Input held while its LISTEN waits for the tenant's listener (null when not waiting). */
  private notifyHold: Buffer[] | null = null;

  /** Built by the login once the client has authenticated and been admitted (frontend/login.ts). */
  constructor(socket: Socket, host: ClientHost, route: TenantRoute, pool: Pool) {
    this.socket = socket;
    this.host = host;
    this.route = route;
    this.pool = pool;
    this.transactionMode = route.pool.mode === 'transaction';
    this.latency = host.latencyFor(route.id);
  }

  get log(): Logger {
    this.logger ??= this.host.log.child(this.route === null ? { client: this.id } : { client: this.id, tenant: this.route.id });
    return this.logger;
  }

  /**
   * The one place the state changes (client-state.ts has the diagram): entering WAITING asks the
   * pool for a server connection, leaving WAITING for CLOSED withdraws the request.
   */
  private enter(next: ClientState): void {
    const from = this.state;
    if (!mayEnter(from, next)) {
      const text = `client state: unexpected move from ${stateName(from)} to ${stateName(next)}`;
      // A bookkeeping slip must not take the process (and every tenant) down; the tests stop at it.
      if (process.env.VITEST !== undefined) throw new Error(text);
      this.log.error(text);
      if (from === CLOSED) return;
    }
    this.state = next;
    // A request waits for the answer of its last release, if due (releaseAnswered).
    if (next === WAITING) {
      if (this.awaitingRelease === 0) this.takeServer();
    } else if (from === WAITING && next === CLOSED) this.pool?.cancelWait(this);
    // Between transactions: notifications queued meanwhile go now (notify-client.ts).
    else if (next === IDLE && this.listens !== null) this.listens.flush();
  }

  /** Called by the login once the client has been told ReadyForQuery; `rest` = bytes it sent meanwhile. */
  enterReady(rest: Buffer): void {
    // Closed meanwhile (the socket went while login awaited the server): stays closed, its late
    // bytes and events ignored.
    if (this.state === LOGGING_IN) this.enter(IDLE);
    // Listeners shared by all clients, finding theirs on the socket: a closure (and its context)
    // per listener would cost memory per idle client.
    (this.socket as OwnedSocket)[OWNER] = this;
    this.socket.on('data', onSocketData);
    // One listener for the three ways the socket can go ('close' passes a boolean, 'end' nothing).
    this.socket.on('error', onSocketGone);
    this.socket.on('close', onSocketGone);
    this.socket.on('end', onSocketGone);
    if (rest.length > 0) this.onClientData(rest);
  }

  // ---- client → server -------------------------------------------------------------------

  /** What the client's bytes mean in each state (PgBouncer's client_proto); called by onSocketData. */
  onClientData(chunk: Buffer): void {
    // After Terminate nothing the client sends is read (terminate).
    if (this.state === CLOSED || this.terminating) return;
    this.bytesIn += chunk.length;
    this.lastActive = coarseNow;
    if (this.notifyHold !== null) return this.holdInput(chunk);
    // A query starts on the linked server connection (in transaction mode the first request of a
    // transaction is stamped by linkServer instead, after the checkout wait).
    if (this.queryStart === 0 && this.state === ACTIVE) this.startQuery(chunk);
    this.dispatchInput(chunk);
  }

  /** The one switch that says what each state does with the client's bytes (PgBouncer's client_proto). */
  private dispatchInput(chunk: Buffer): void {
    switch (this.state) {
      case IDLE:
      case WAITING:
      case ACTIVE:
        if (this.prepared !== null) return this.onPreparedClientData(chunk);
        return this.fast.onClientData(chunk);
      case LOST:
        return this.onLostTransactionData(chunk);
      // LOGGING_IN: the socket is login.ts's until enterReady.
    }
  }

  // ---- LISTEN/UNLISTEN in transaction mode (notify-client.ts, notify-run.ts) ----------------

  get betweenTransactions(): boolean {
    return this.state === IDLE;
  }

  notifyStatement(stmt: NotifyStatement, message: Buffer, rest: Buffer): Buffer | null {
    const listens = (this.listens ??= new ClientListens(this, this.host.listenerFor(this.route!)));
    let waiting = false;
    let ready = false;
    listens.prepare(stmt, (failure) => {
      ready = true;
      if (this.state === CLOSED) return;
      if (waiting && this.state === LOST) {
        // Its transaction was lost meanwhile: the statement is the lost transaction's to answer (25P02).
        listens.cancelPrepare();
        this.notifyHold!.unshift(message);
        return this.releaseHold();
      }
      runNotifyStatement(this, listens, stmt, message, failure);
      if (waiting) this.releaseHold();
    });
    if (ready) return this.state === CLOSED || rest.length === 0 ? null : rest;
    // The tenant's listener is not listening on the channel yet: the client's input waits (in
    // order) until it is, so that the client learns its LISTEN succeeded only once it is in effect.
    waiting = true;
    this.notifyHold = rest.length > 0 ? [rest] : [];
    this.socket.pause();
    return null;
  }

  listenGate(stmt: NotifyStatement, resume: (failure: ListenFailure | null) => void): ListenFailure | null | undefined {
    const listens = (this.listens ??= new ClientListens(this, this.host.listenerFor(this.route!)));
    let waiting = false;
    let result: ListenFailure | null | undefined;
    listens.prepare(stmt, (failure) => {
      if (!waiting) {
        result = failure;
        return;
      }
      if (this.state === CLOSED) return;
      if (!this.flow.throttled) this.socket.resume();
      resume(failure);
    });
    waiting = true;
    // Until then the prepared session holds the message; the client is not read meanwhile.
    if (result === undefined) this.socket.pause();
    return result;
  }

  private holdInput(chunk: Buffer): void {
    this.notifyHold!.push(chunk);
    // Paused already; bytes read before the pause took effect are few.
    this.socket.pause();
  }

  private releaseHold(): void {
    const held = this.notifyHold;
    this.notifyHold = null;
    if (held === null || this.state === CLOSED) return;
    if (!this.flow.throttled) this.socket.resume();
    if (held.length === 0) return;
    this.dispatchInput(held.length === 1 ? held[0]! : Buffer.concat(held));
  }

  /**
   * Terminate ('X'). PostgreSQL reads a session's messages in order, so what the client sent before
   * Terminate runs and commits before the session ends — a Query and Terminate in one write, as
   * libpq's PQsendQuery then PQfinish send them (protocol-flow.html, "Termination"). The client
   * closes now when nothing it sent is outstanding; else once the last answer is in, without
   * cancelling it (onServerData, answeredLocally). Nothing it sends after Terminate is read; an
   * extended-protocol batch left without Sync is rolled back, as PostgreSQL does.
   */
  terminate(): void {
    this.terminating = true;
    this.socket.pause();
    this.closeIfTerminated();
  }

  /**
   * After Terminate: closes the client once nothing it sent awaits a ReadyForQuery (nor a server).
   * Called wherever that can happen: a server's answer, a local one, a link (an unsynced batch gets
   * no answer: close() rolls it back), a failed checkout, a lost server connection. Requests
   * without Sync (a prepared session's queued Parse/Bind/Execute) are not waited for: no answer
   * comes to them before a Sync or Flush.
   */
  private closeIfTerminated(): void {
    if (this.terminating && this.pending === 0 && this.queued === null) this.close('client_terminate', true);
  }

  /** Answers locally (ERROR or CommandComplete, then ReadyForQuery 'I'): the client is between transactions. */
  writeLocal(reply: Buffer): void {
    this.socket.write(reply);
  }

  /**
   * Sends `chunk` to the server connection, or queues it until there is one — or until the reset
   * sent ahead of what rode with it has answered (backend/reset-ahead.ts: past a Sync, nothing may
   * reach a session whose reset could still fail).
   */
  forward(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const server = this.server;
    if (server !== null) {
      if (server.resetAhead === null) {
        if (!server.socket.write(chunk)) this.flow.serverFull(server);
        return;
      }
      server.flushReset();
    }
    if (this.queued === null) this.queued = [chunk];
    else this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > INPUT_HIGH_WATER) this.flow.throttle();
    if (this.state === IDLE) this.enter(WAITING);
  }

  intercepted(type: number): void {
    if (type === FE_TERMINATE) return this.terminate();
    this.fail(new PoolerError('PROTOCOL_VIOLATION', `invalid frontend message type ${type}`), 'protocol_violation', true);
  }

  /**
   * Switches to the prepared session at the first named Parse. The current chunk (and any
   * held-back header bytes) has not been forwarded yet, so it is re-framed from its start; replies
   * to requests forwarded earlier pass through a barrier that waits for their ReadyForQuery.
   */
  startPreparedSession(chunk: Buffer, pendingBefore: number, repliesInFlight: boolean, tailBefore: number): void {
    if (repliesInFlight) return this.fail(namedParseTooLate(), 'unsupported_feature', false);
    this.pending = pendingBefore;
    this.prepared = new PreparedSession(this, this.host.statementRegistry(this.route!.id), this.host.maxMessageSize, pendingBefore);
    this.onPreparedClientData(this.fast.handOver(chunk, tailBefore));
  }

  private onPreparedClientData(chunk: Buffer): void {
    this.prepared!.onClientData(chunk);
    if (this.state !== CLOSED) this.flow.afterPooledInput();
  }

  // ---- PreparedSessionHost -----------------------------------------------------------------

  get cacheSize(): number {
    return this.host.preparedCacheSize;
  }

  requestServer(): void {
    if (this.state === IDLE) this.enter(WAITING);
  }

  answeredLocally(): void {
    this.transactions++;
    if (this.transactionMode || this.closeAfter !== null) this.releaseServer();
    this.closeIfTerminated();
  }

  // ---- pool callbacks (WAITING) -----------------------------------------------------------

  attachServer(server: ServerConnection): void {
    if (this.state === CLOSED) return this.pool!.release(server);
    if (this.refused !== null) {
      this.pool!.release(server);
      return this.fail(this.refused, this.refused.reason ?? 'invalid_parameter', true);
    }
    // The client's session parameters first (replies hidden), then it takes the connection.
    linkWithParams(this, server);
  }

  /** pin.ts: its session is gone; its next request is refused with `err`. */
  refuseNext(err: PoolerError): void {
    this.refused ??= err;
  }

  /** A waiting client goes on once its release has answered: to its pinned connection, or the pool. */
  private releaseAnswered(): void {
    if (--this.awaitingRelease > 0 || this.state !== WAITING) return;
    if (this.refused !== null) return this.fail(this.refused, this.refused.reason ?? 'invalid_parameter', true);
    this.takeServer();
  }

  /** WAITING: the pinned connection, or one from the pool. */
  private takeServer(): void {
    const pin = this.pin;
    if (pin === null) {
      // The read endpoint chooses a reader (or the writer) per transaction (backend/reader-router.ts);
      // a pinned client stays on its connection's pool.
      if (this.reads !== null) this.pool = this.reads.pick();
      return this.pool!.acquire(this);
    }
    if (pin.server.closed) {
      pinLost(this);
      return this.fail(new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: `it held the session's ${pin.reason}` }), 'server_lost', true);
    }
    this.attachServer(pin.server);
  }

  /** Its settings as the transaction left them (backend/reset.ts); null: they could not be read. */
  private captured(result: CaptureResult): void {
    if (result === null || 'tooMany' in result) {
      // Its session is not what it was told: it cannot go on (docs/transaction-mode.md). Told in
      // answer to its next request, not out of the blue while it is idle.
      this.refuseNext(
        result === null
          ? new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: 'while reading the session settings' })
          : new PoolerError('SESSION_SETTINGS_LIMIT', `too many session settings: ${'tooMany' in result ? result.tooMany : ''}`, {
              hint: 'RESET what is no longer needed, or use a tenant in session mode',
            }),
      );
      return this.releaseAnswered();
    }
    // A start-up setting absent from the session's own is back at its default: the client's start-up value.
    this.session = this.sessionDefaults === NO_SETTINGS ? result.settings : withDefaults(this.pool!, result.settings, this.sessionDefaults);
    // Its application_name as the server holds it: its own SET (source 'session'), or, back at the
    // connection's start-up value (RESET), its own start-up name. The value alone cannot tell the
    // two apart where the connection opened under another client's name (backend/pool.ts
    // openServer; reply-inspector.ts guesses "a RESET", and PostgreSQL reports no change when the
    // value stays the same). It is told again, between its transactions (ParameterStatus may come
    // at any time, protocol docs "Asynchronous Operations").
    const name = result.applicationName ?? this.defaults.get('application_name');
    if (name !== undefined && this.params.get('application_name') !== name) {
      this.params = withParam(this.params, 'application_name', name);
      if (this.socket.writable) this.socket.write(msg.parameterStatus('application_name', name));
    }
    this.releaseAnswered();
  }

  linkServer(server: ServerConnection): void {
    this.enter(ACTIVE);
    // The wait for the connection (its own histogram, backend/pool.ts) and the replay of session
    // parameters are not the query's time: it starts now, as PgBouncer's query_start does.
    this.queryStart = this.xactStart = 0;
    this.startQuery(this.queued?.[0]);
    this.replayFailures = 0;
    this.server = server;
    server.link = this;
    // Bytes queued before the client's prepared session started (whole messages, or the start of
    // one whose rest startPreparedSession queued after them) go first; the session's messages follow.
    const q = this.queued;
    if (q !== null) {
      this.dropQueued();
      // Behind a reset sent ahead (backend/reset-ahead.ts), in the same write, when they may.
      if (server.resetAhead !== null && this.prepared === null && this.fast.atBoundary() && mayRide(q)) {
        for (const c of q) if (!server.socket.write(c)) this.flow.serverFull(server);
      } else for (const c of q) this.forward(c);
    }
    if (this.prepared !== null) this.prepared.drain();
    if (this.terminating) return this.closeIfTerminated();
    if (this.flow.throttled) this.flow.unthrottle();
  }

  /** The pool's question before it sends a reset ahead of this waiting client's bytes (backend/reset-ahead.ts). */
  ridesReset(): boolean {
    return this.state === WAITING && this.refused === null && this.prepared === null && this.queued !== null && this.fast.atBoundary() && mayRide(this.queued);
  }

  /** The reset sent ahead has answered: what was held behind it goes now. */
  onResetAnswered(): void {
    if (this.state !== ACTIVE) return;
    const q = this.queued;
    if (q !== null) {
      this.dropQueued();
      for (const c of q) this.forward(c);
    }
    // A prepared session's messages were held too (prepared-session.ts drainMessages).
    if (this.prepared !== null) this.prepared.drain();
    if (this.flow.throttled) this.flow.unthrottle();
  }

  private dropQueued(): void {
    this.queued = null;
    this.queuedBytes = 0;
  }

  checkoutFailed(err: PoolerError): void {
    if (this.state === CLOSED) return;
    this.enter(IDLE);
    // Answer each outstanding request as the server would: an error, then ReadyForQuery. Only
    // possible when the client's stream is at a message boundary and nothing is half-sent.
    let streamAtBoundary: boolean;
    if (this.prepared !== null) {
      const owed = this.prepared.discardQueued();
      // Bytes queued before the prepared session started (see linkServer) are not counted in
      // `owed`: with any, end the client rather than answer a wrong number of requests.
      streamAtBoundary = owed >= 0 && this.queued === null;
      if (owed >= 0) this.pending = owed;
    } else {
      // The queued chunks are dropped below; what matters is that they end between messages.
      streamAtBoundary = this.fast.atBoundary();
    }
    // Counted under the error's own reason (TENANT_REMOVED: tenant_removed; the checkout errors: connect_failed).
    if (err.fatal || this.pending === 0 || !streamAtBoundary) return this.fail(err, err.reason ?? 'connect_failed');
    this.dropQueued();
    this.listens?.transactionLost();
    const out = [msg.errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint })];
    for (let i = 0; i < this.pending; i++) out.push(msg.readyForQuery('I'));
    this.pending = 0;
    this.log.warn({ code: err.code }, err.message);
    this.socket.write(Buffer.concat(out));
    // Answered: a boundary, where a close that came due while it waited (closeAtBoundary) happens.
    if (this.closeAfter !== null) return this.fail(this.closeAfter.err, this.closeAfter.reason, true);
    if (this.terminating) return this.closeIfTerminated();
    if (this.flow.throttled) this.flow.unthrottle();
  }

  // ---- timing (stats/latency.ts) ----------------------------------------------------------

  /** `first`: the chunk the query starts with, when known (its Query or Parse text names the shape). */
  private startQuery(first: Buffer | undefined): void {
    const now = performance.now();
    this.queryStart = now;
    if (this.xactStart === 0) this.xactStart = now;
    const text = first === undefined ? null : leadingQueryText(first);
    this.queryShape = text === null ? null : this.latency.shapes.shapeOf(text);
  }

  /** Called at a ReadyForQuery that leaves nothing outstanding (fast-path.ts, prepared-replies.ts). */
  answered(txStatus: number): void {
    const start = this.queryStart;
    if (start === 0) return;
    const now = performance.now();
    this.queryStart = 0;
    this.latency.query.observe(now - start);
    if (this.queryShape !== null) {
      this.queryShape.add(now - start);
      this.queryShape = null;
    }
    if (txStatus === TX_IDLE && this.xactStart !== 0) {
      this.latency.xact.observe(now - this.xactStart);
      this.xactStart = 0;
    }
  }

  // ---- server → client (ACTIVE) -----------------------------------------------------------

  onServerData(chunk: Buffer): void {
    const server = this.server!;
    this.bytesOut += chunk.length;
    this.lastActive = coarseNow;
    // The rest of a split message first: what it changes must be known before what follows it.
    this.inspector.feedSplit(chunk);
    const r = this.prepared === null ? this.fast.onServerData(chunk, server) : this.prepared.onServerData(chunk, server);
    if (r === SERVER_BROKEN) return;
    if (this.pending === 0) this.busySince = 0;
    if (r === RELEASE_DUE) this.releaseServer();
    if (this.terminating) this.closeIfTerminated();
  }

  /** Called about once a second by the pooler (client-timeouts.ts). */
  checkTimeouts(now: number, cancelServerQuery: (server: ServerConnection) => void): void {
    checkTimeouts(this, now, cancelServerQuery);
  }

  /** The client's stream is between messages and nothing of it waits to be forwarded. */
  clientAtBoundary(): boolean {
    if (this.prepared !== null) return this.prepared.framer.buffered === 0 && this.prepared.outstanding === 0;
    return this.queued === null && this.fast.atBoundary();
  }

  /**
   * Detaches `server` from this client, undoing any backpressure pause between the two sockets.
   * The transaction ended (or died) with it, and with it any portal.
   */
  private unlinkServer(server: ServerConnection): void {
    this.server = null;
    // A query or transaction cut short by a lost server is not timed.
    this.queryStart = this.xactStart = 0;
    this.unnamedPortal = PORTAL_NONE;
    this.portalGone = 0;
    this.inspector.unlinked();
    this.flow.unlinked(server);
  }

  private releaseServer(): void {
    const server = this.server;
    if (server === null) return;
    this.unlinkServer(server);
    this.enter(IDLE);
    // DISCARD ALL first when this client ran anything (backend/reset.ts); else straight back.
    // Its session settings are read in the same write when the transaction may have changed one;
    // where the tenant pins, the reset looks for state to keep first (pin.ts).
    // Pinning turned off by a reload (pin.ts): the pin ends with this release, or its next
    // transaction would go to this connection after the pool gave it to another client.
    if (this.pin !== null && !pinsOn(this.route!)) pinLost(this);
    if (this.pin !== null && !server.dirty && !server.settingsChanged) {
      // Pinned, and nothing ran: it keeps the connection as it is.
      server.link = null;
    } else if (this.mayPark(server) && this.pool!.park(server, this)) {
      // Lazy reset: nobody else wants it; it stays this client's, unreset, until someone does (pool.ts park).
    } else {
      const capture = server.settingsChanged;
      const probe = pinsOn(this.route!) ? pinProbeFor(this, () => this.releaseAnswered()) : undefined;
      this.awaitingRelease = (capture ? 1 : 0) + (probe === undefined ? 0 : 1);
      resetServer(server, this.pool!, NOTHING_TO_UNDO, capture ? (r) => this.captured(r) : undefined, probe);
    }
    if (this.closeAfter !== null) this.fail(this.closeAfter.err, this.closeAfter.reason);
  }

  /**
   * May its dirty connection wait for its next transaction unreset (backend/pool.ts park)? Not when
   * the reset must read its settings (they would be lost with the connection), nor where a probe
   * decides on pinning, nor for a read endpoint's client (its next transaction may go to another
   * pool), nor with a setting kept off idle connections (session-settings.ts parkable: an
   * idle_session_timeout, a deferrable default, a short timeout, under which the reset would run).
   */
  private mayPark(server: ServerConnection): boolean {
    return (
      server.dirty &&
      !server.settingsChanged &&
      this.transactionMode &&
      this.reads === null &&
      this.closeAfter === null &&
      !pinsOn(this.route!) &&
      parkable(this.session) &&
      parkable(this.sessionDefaults)
    );
  }

  onServerClosed(server: ServerConnection, reason: DisconnectReason): void {
    if (this.server !== server) return;
    this.unlinkServer(server);
    const fatal = this.inspector.takeFatal();
    // In transaction mode the client outlives its server connection when both streams stand at a
    // message boundary: its outstanding requests fail, an open transaction is lost (see
    // lost-transaction.ts), and the next transaction gets another server connection.
    const clean = server.scanner.atBoundary() && (this.prepared === null ? this.fast.atBoundary() : this.prepared.abandon());
    if (!this.transactionMode || this.state === CLOSED || !clean) {
      if (fatal !== null && this.socket.writable) this.socket.write(fatal);
      this.fail(new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: `reason: ${reason}` }), 'server_lost');
      return;
    }
    const inTransaction = this.txStatus !== TX_IDLE;
    this.log.warn({ reason, inTransaction, pending: this.pending }, 'server connection lost; the client stays connected');
    this.dropQueued();
    this.listens?.transactionLost();
    const error = serverLostError(fatal, reason);
    const loss = afterServerLoss(error, this.pending, inTransaction, this.host.maxMessageSize, preparedTextOf(this.prepared?.statements));
    if (loss.replies !== null) this.socket.write(loss.replies);
    this.pending = 0;
    this.lost = loss.lost;
    this.enter(inTransaction ? LOST : IDLE);
    this.txStatus = inTransaction ? TX_FAILED : TX_IDLE;
    if (this.closeAfter !== null && this.lost === null) this.fail(this.closeAfter.err, this.closeAfter.reason, true);
    // Its requests are answered (failed); a lost transaction's rollback is moot once it closes.
    this.closeIfTerminated();
  }

  private onLostTransactionData(chunk: Buffer): void {
    let r: ReturnType<LostTransaction['onClientData']>;
    try {
      r = this.lost!.onClientData(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(new PoolerError('PROTOCOL_VIOLATION', err.message), 'protocol_violation', true);
      throw err;
    }
    if (r.replies.length > 0) this.socket.write(r.replies.length === 1 ? r.replies[0]! : Buffer.concat(r.replies));
    if (r.terminated) return this.close('client_terminate', true);
    if (!r.ended) {
      // Every reply here is the pooler's own: stop reading a client that does not take them.
      this.flow.afterPooledInput();
      return;
    }
    this.lost = null;
    this.enter(IDLE);
    this.txStatus = TX_IDLE;
    if (this.closeAfter !== null) return this.fail(this.closeAfter.err, this.closeAfter.reason, true);
    if (r.rest.length > 0) this.onClientData(r.rest);
  }

  // ---- ending (any state → CLOSED) ------------------------------------------------------

  /** Closes the client now if it is between transactions, else right after its transaction ends. */
  closeAtBoundary(err: PoolerError, reason: DisconnectReason): void {
    if (this.state === CLOSED) return;
    if (this.pending === 0 && this.txStatus === TX_IDLE && this.state !== WAITING && this.clientAtBoundary()) return this.fail(err, reason, true);
    this.closeAfter = { err, reason };
  }

  /** Sends `errorResponse` (a FATAL) and closes the client. */
  failWith(errorResponse: Buffer, reason: DisconnectReason): void {
    if (this.state === CLOSED) return;
    this.log.info({ reason }, 'client ended with the server’s error');
    if (this.socket.writable) this.socket.write(errorResponse);
    this.close(reason, true);
  }

  /** Sends a FATAL (or ERROR for non-fatal codes, then closes anyway) and closes the client. */
  fail(err: PoolerError, reason: DisconnectReason, streamClean = false): void {
    if (this.state === CLOSED) return;
    this.log.info({ code: err.code, sqlstate: err.sqlstate, reason }, err.message);
    if (this.socket.writable) {
      this.socket.write(msg.errorResponse({ severity: 'FATAL', code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
    }
    this.close(reason, streamClean);
  }

  /**
   * Closes the client and returns (or resets, or discards) its server connection.
   * `streamClean`: the bytes forwarded to the server end at a message boundary.
   */
  close(reason: DisconnectReason, streamClean = this.clientAtBoundary()): void {
    if (this.state === CLOSED) return;
    this.enter(CLOSED);
    // Its parked connection is reset before anyone else may use it.
    this.pool?.unpark(this);
    unpinOnClose(this, this.server);
    // Its statement names no longer hold their statements (nor the tenant's budget); its channels are given back.
    this.prepared?.statements.clear();
    this.notifyHold = null;
    this.listens?.close();
    const server = this.server;
    if (server !== null) {
      this.unlinkServer(server);
      const busy = this.pending > 0 || (this.prepared === null ? this.fast.unsynced : this.prepared.outstanding > 0);
      if (streamClean && !busy) {
        // Roll back an open transaction (and in session mode discard session state) before reuse.
        resetServer(server, this.pool!, { rollback: this.txStatus !== TX_IDLE, discardAll: !this.transactionMode });
      } else if (!busy) {
        // Waiting for input: the backend ends as soon as its socket closes.
        server.close('unclean_release');
      } else {
        // Still running something for this client: cancel it, and keep the slot until the server
        // is idle again (or closed). A prepared session sends whole messages only.
        // After Terminate (the client's socket went before the answers came) what it sent still runs.
        const cancel = !this.terminating || this.pending === 0;
        abandonServer(server, this.pool!, { requests: this.pending, atBoundary: streamClean || this.prepared !== null, session: !this.transactionMode, cancel });
      }
    }
    const socket = this.socket;
    if (socket.writable && socket.writableLength === 0 && (socket as TLSSocket).encrypted !== true) {
      // Everything written is with the kernel (a write it takes at once leaves nothing queued):
      // close() sends the FIN end() would, without the shutdown call and the stream's finish
      // events (measured per login, bench/README.md). TLS ends with end(): its close_notify goes out there.
      socket.destroy();
    } else {
      if (!socket.destroyed) socket.end();
      socket.destroySoon();
    }
    this.host.clientGone(this, reason);
  }
}
