// Runs a client's LISTEN/UNLISTEN once the tenant's listener is ready for it (notify-client.ts has
// the semantics). Between transactions (no server connection, nothing outstanding) the pooler
// answers as PostgreSQL does — CommandComplete "LISTEN"/"UNLISTEN", ReadyForQuery 'I' — and the
// statement is in effect at once. Otherwise the Query goes to the client's server connection like
// any statement (its reply is the server's own) and is staged until the transaction ends.
// A refusal (name too long, channel limits, listener unavailable) is an ERROR: answered by the
// pooler between transactions; inside one, a statement raising that error goes to the server in
// its place, so that the transaction fails there too, as it would on PostgreSQL.
import type { ListenFailure } from '../backend/listener.ts';
import * as msg from '../net/messages.ts';
import type { ClientListens } from './notify-client.ts';
import type { NotifyStatement } from './notify-statement.ts';
import { IDLE, type ClientState } from './client-state.ts';
import { PORTAL_NONE } from './unnamed-portal.ts';

/** The client connection, as its LISTEN/UNLISTEN sees it (frontend/client.ts). */
export interface NotifyRunClient {
  readonly state: ClientState;
  pending: number;
  unnamedPortal: number;
  forward(chunk: Buffer): void;
  writeLocal(reply: Buffer): void;
}

export function runNotifyStatement(c: NotifyRunClient, listens: ClientListens, stmt: NotifyStatement, message: Buffer, failure: ListenFailure | null): void {
  const local = c.state === IDLE && c.pending === 0;
  if (local) {
    if (failure !== null) {
      c.writeLocal(Buffer.concat([msg.errorResponse({ severity: 'ERROR', code: failure.sqlstate, message: failure.message, detail: failure.detail }), msg.readyForQuery('I')]));
      return;
    }
    listens.applyNow(stmt);
    c.writeLocal(Buffer.concat([msg.commandComplete(stmt.listen ? 'LISTEN' : 'UNLISTEN'), msg.readyForQuery('I')]));
    return;
  }
  // A Query, as the fast path would have counted it: one ReadyForQuery owed; no unnamed portal after it.
  if (failure === null) listens.forwarded(stmt, c.pending);
  c.pending++;
  c.unnamedPortal = PORTAL_NONE;
  c.forward(failure === null ? message : msg.query(raiseStatement(failure)));
}

/** A DO block raising `f` (text reduced to characters that need no quoting rules beyond ''). */
export function raiseStatement(f: ListenFailure): string {
  const lit = (s: string): string => `'${s.replace(/[\\$\0]/g, '').replace(/'/g, "''")}'`;
  const detail = f.detail === undefined ? '' : `, DETAIL = ${lit(f.detail)}`;
  return `DO $sy$BEGIN RAISE EXCEPTION USING ERRCODE = ${lit(f.sqlstate)}, MESSAGE = ${lit(f.message)}${detail}; END$sy$`;
}
