// The client connection, as its prepared session sees it (prepared-session.ts, prepared-replies.ts;
// frontend/client.ts implements it). A module of its own so that the two halves of the session
// share it without importing each other.
import type { ServerConnection } from '../backend/server.ts';
import type { DisconnectReason, PoolerError } from '../errors.ts';
import type { ClientFlow } from './client-flow.ts';
import type { ReplyInspector } from './reply-inspector.ts';
import type { ListenFailure } from '../backend/listener.ts';
import type { NotifyStatement } from './notify-statement.ts';

export interface PreparedSessionHost {
  readonly server: ServerConnection | null;
  /** Server-side prepared statements kept per server connection (LRU; read at each use: a reload may change it). */
  readonly cacheSize: number;
  readonly transactionMode: boolean;
  /** The client's session parameters (standard_conforming_strings decides how SQL PREPARE texts are read). */
  readonly params: ReadonlyMap<string, string>;
  /** A close is due at the end of the transaction (client.ts closeAtBoundary). */
  readonly closeAfter: object | null;
  txStatus: number;
  pending: number;
  /** Transactions completed (SHOW CLIENTS / STATS). */
  transactions: number;
  /** A Bind to '' reached this connection since the last Query (unnamed-portal.ts). */
  unnamedPortal: number;
  /** Stand-in Parses whose refusal is answered as 34000 (unnamed-portal.ts). */
  portalGone: number;
  /**
   * Looks into ParameterStatus, CommandComplete and ErrorResponse messages; a message split
   * across reads is inspected once complete, and then cannot be rewritten (returns null).
   */
  readonly inspector: ReplyInspector;
  /** Once it used LISTEN/UNLISTEN: told each ReadyForQuery while busy (notify-client.ts). */
  readonly listens: { readonly busy: boolean; onReady(status: number): void; forwarded(stmt: NotifyStatement, ahead: number): void } | null;
  /**
   * A LISTEN/UNLISTEN about to go to the server (notify-client.ts): null to send it, the failure
   * to answer instead, or undefined when it must wait for the tenant's listener — then `resume`
   * is called with the outcome.
   */
  listenGate(stmt: NotifyStatement, resume: (failure: ListenFailure | null) => void): ListenFailure | null | undefined;
  /** Writes to either socket, with backpressure (client-flow.ts). */
  readonly flow: ClientFlow;
  requestServer(): void;
  /** A ReadyForQuery left nothing outstanding: times the query (and a transaction ended by 'I'). */
  answered(txStatus: number): void;
  /**
   * A reply the pooler gave itself (a DEALLOCATE) left the client between transactions with
   * nothing outstanding: the server connection goes back as after a ReadyForQuery 'I'.
   */
  answeredLocally(): void;
  /** The client sent Terminate (after what preceded it was written). */
  close(reason: DisconnectReason, streamClean?: boolean): void;
  /** Terminate: the client closes once what it sent before is answered (client.ts terminate). */
  terminate(): void;
  /** A malformed message: `streamClean` when the server has been sent whole messages only. */
  fail(err: PoolerError, reason: DisconnectReason, streamClean?: boolean): void;
}
