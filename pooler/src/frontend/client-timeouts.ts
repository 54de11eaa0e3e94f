// The per-tenant timeouts of a client connection, checked about once a second by the pooler rather
// than by a timer per client (docs/architecture.md, "Performance facts"). 0 turns each off.
// - query_timeout: the running query is cancelled on the server; the client gets QUERY_TIMEOUT
//   (57014, reply-inspector.ts) and keeps its session;
// - idle_in_transaction_timeout: a client sitting in an open transaction is ended (25P03) and the
//   transaction rolled back (close() resets the server connection);
// - client_idle_timeout: a client idle between transactions is ended (57P05).
import type { ServerConnection } from '../backend/server.ts';
import type { TenantRoute } from '../config/snapshot.ts';
import { PoolerError, type DisconnectReason } from '../errors.ts';
import type { Logger } from '../log.ts';
import { TX_IDLE } from '../net/codes.ts';
import { CLOSED, WAITING, type ClientState } from './client-state.ts';
import type { ReplyInspector } from './reply-inspector.ts';

/** The client connection, as its timeouts see it. */
export interface TimedClient {
  readonly state: ClientState;
  readonly route: TenantRoute | null;
  readonly server: ServerConnection | null;
  readonly pending: number;
  readonly txStatus: number;
  /** Coarse time (ms) of the client's or its server's last bytes. */
  readonly lastActive: number;
  /** When the oldest outstanding request started (0 = none). */
  busySince: number;
  readonly inspector: ReplyInspector;
  /** Nothing is outstanding: the inspector forgets a query_timeout cancel, if it has one (without making an inspector for an idle client). */
  repliesSettled(): void;
  readonly log: Logger;
  clientAtBoundary(): boolean;
  fail(err: PoolerError, reason: DisconnectReason, streamClean?: boolean): void;
}

export function checkTimeouts(c: TimedClient, now: number, cancelServerQuery: (server: ServerConnection) => void): void {
  const route = c.route;
  if (c.state === CLOSED || route === null) return;
  const p = route.pool;
  const server = c.server;
  if (c.pending > 0) {
    if (c.busySince === 0) c.busySince = now;
    else if (p.query_timeout > 0 && server !== null && now - c.busySince > p.query_timeout * 1000) {
      c.log.warn({ seconds: p.query_timeout }, 'query_timeout: cancelling the running query');
      c.busySince = now;
      c.inspector.cancelledForTimeout(server, p.query_timeout);
      cancelServerQuery(server);
    }
    return;
  }
  c.busySince = 0;
  c.repliesSettled();
  const idleMs = now - c.lastActive;
  if (server !== null && c.txStatus !== TX_IDLE) {
    if (p.idle_in_transaction_timeout > 0 && idleMs > p.idle_in_transaction_timeout * 1000) {
      c.fail(
        new PoolerError('IDLE_IN_TRANSACTION_TIMEOUT', 'terminating connection due to idle-in-transaction timeout', {
          detail: `the transaction was idle for more than ${p.idle_in_transaction_timeout} s and has been rolled back`,
        }),
        'idle_in_transaction_timeout',
      );
    }
    return;
  }
  if (p.client_idle_timeout > 0 && c.state !== WAITING && idleMs > p.client_idle_timeout * 1000 && c.clientAtBoundary()) {
    c.fail(new PoolerError('CLIENT_IDLE_TIMEOUT', 'terminating connection due to idle-session timeout'), 'client_idle_timeout', true);
  }
}
