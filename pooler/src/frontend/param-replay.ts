// A server connection handed to a client gets the client's session parameters first (SET, replies
// hidden: backend/reset.ts runHidden), so each client sees its own start-up settings and SETs on
// whichever connection it gets (session-params.ts says which values differ).
import type { Pool, PoolClient } from '../backend/pool.ts';
import { runHidden } from '../backend/reset.ts';
import type { ServerConnection } from '../backend/server.ts';
import { PoolerError, type DisconnectReason } from '../errors.ts';
import { CLOSED, type ClientState } from './client-state.ts';
import { settingsToApply, withParam } from './session-params.ts';
import { settingsToApply as sessionSettingsToApply } from './session-settings.ts';
import { replayFatal } from './startup-check.ts';

/** Server connections that may break while a client's parameters are applied before it gets an error. */
const MAX_REPLAY_ATTEMPTS = 3;

/** The client connection (WAITING), as the replay sees it. */
export interface ReplayingClient extends PoolClient {
  readonly state: ClientState;
  readonly pool: Pool | null;
  /** Server connections that broke while its parameters were applied, in a row. */
  replayFailures: number;
  params: ReadonlyMap<string, string>;
  /** Its other session settings (session-settings.ts), interned. */
  readonly session: ReadonlyMap<string, string>;
  /** The connection has the client's parameters: the client takes it (→ ACTIVE). */
  linkServer(server: ServerConnection): void;
  failWith(errorResponse: Buffer, reason: DisconnectReason): void;
}

/** Gives `server` the client's session parameters, then links it; or ends the checkout. */
export function linkWithParams(c: ReplayingClient, server: ServerConnection): void {
  // Clients that share a parameter map (same start-up settings, no SET since) and the same
  // settings map skip the comparison.
  const session = c.session;
  const own = sessionSettingsToApply(session, server.session);
  if (server.paramsFor === c.params && own === '') return c.linkServer(server);
  const sets = settingsToApply(c.params, server.params);
  if (sets.length === 0 && own === '') {
    server.paramsFor = c.params;
    return c.linkServer(server);
  }
  // One Query (an implicit transaction: all of it or none), after the tracked SETs.
  if (own !== '') sets.push(own);
  // Statements still on the connection (a transaction that only parsed and described is not
  // reset) were analysed under another session's settings, which PostgreSQL bakes into them (only
  // search_path makes it analyse again, plancache.c): dropped first, they are prepared again
  // under this client's settings when used (its tag clears server.statements, runHidden).
  if (server.statements.size > 0 || server.statements.unsure) sets.unshift('DEALLOCATE ALL');
  runHidden(
    server,
    sets,
    (outcome) => {
      if (outcome.ok) server.session = session;
      if (outcome.ok && c.state !== CLOSED) return c.linkServer(server);
      // A refused SET leaves the connection clean: back to the pool.
      if (!server.closed) c.pool!.release(server);
      if (c.state === CLOSED) return;
      // The server refuses a value this session has (e.g. after a move to another database):
      // the session cannot go on there. One error, never a retry (issue 10: a re-queue per
      // refusal opened server sessions without end).
      if (outcome.error !== undefined) return c.failWith(replayFatal(outcome.error), 'invalid_parameter');
      // That connection broke while being prepared: another one (the client stays WAITING), a
      // bounded number of times.
      if (++c.replayFailures < MAX_REPLAY_ATTEMPTS) return c.pool!.acquire(c);
      c.checkoutFailed(new PoolerError('SERVER_LOST', 'the server connection was lost', { detail: 'while applying the session parameters', reason: 'connect_failed' }));
    },
    // The server's normalised spelling is what the client now has.
    (name, value) => (c.params = withParam(c.params, name, value)),
    true,
  );
}
