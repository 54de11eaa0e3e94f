// SQL-level PREPARE / EXECUTE / DEALLOCATE in transaction mode, mapped like protocol-level named
// statements (docs/transaction-mode.md, "SQL PREPARE and EXECUTE"). A client's names are its own
// (prepared/client-names.ts, one namespace with its Parse names, as in PostgreSQL); each text is a
// statement of the tenant's registry (prepared/registry.ts acquireSql) with a pooler-chosen
// server-side name, prepared on whichever server connection runs an EXECUTE of it.
//
// Only a simple Query whose text begins (after white space and comments) with the statement is
// looked at, and only one statement per Query is mapped:
// - `PREPARE name [(types)] AS statement` goes to the server with the name replaced, so the server
//   validates it exactly where PostgreSQL would (its errors, its CommandComplete);
// - `EXECUTE name [(args)]` (also `EXPLAIN [options] EXECUTE name`) goes with the name replaced,
//   after a `PREPARE` of the statement in the same Query when that server connection lacks it
//   (the reset after each transaction drops it; or it is another server connection): that
//   PREPARE's CommandComplete is hidden, and an error in it is the EXECUTE's, as when PostgreSQL
//   re-plans a statement whose table went away;
// - `DEALLOCATE [PREPARE] name` of a client name is answered by the pooler (the server statement
//   stays cached for other clients), `DEALLOCATE ALL` drops the client's names and passes.
// Errors name the client's statement, never the server-side name; error positions are moved back
// to the client's own text. Everything else passes through as before.
import type { ServerConnection } from '../backend/server.ts';
import { PoolerError } from '../errors.ts';
import * as codes from '../net/codes.ts';
import { encodeErrorFields, encodeTarget } from '../net/extended.ts';
import * as msg from '../net/messages.ts';
import type { ClientStatements } from '../prepared/client-names.ts';
import type { PreparedSessionHost } from './prepared-host.ts';
import { HIDE, LOCAL, SYNC, type RequestQueue, type SqlQuery } from './prepared-queue.ts';
import { SQL_DEALLOCATE, SQL_DEALLOCATE_ALL, SQL_EXECUTE, SQL_PREPARE, charCount, parseSqlPrepare, type NameToken } from './sql-prepare-text.ts';

const FE_QUERY = codes.FE_QUERY;
const BE_ERROR_RESPONSE = codes.BE_ERROR_RESPONSE;

/** A PREPARE of a name the client already has: sent under DUPLICATE_NAME to get the server's 42P05. */
export const SQL_DUPLICATE = 5;
/** A statement the pooler refuses: a query failing with 42601 is sent, `error` shown in its place. */
export const SQL_REFUSED = 6;

/**
 * A server-side name only ever given to `PREPARE ... AS SELECT` (the empty select list): a client's
 * PREPARE of a name it already has goes to the server under this name, which exists there, so the
 * server analyses the statement first and then reports 42P05, exactly as PostgreSQL orders it.
 */
const DUPLICATE_NAME = 'sy_duplicate';
/** Fails on the server with 42601 (its log shows it): stands for a refusal, see SQL_REFUSED. */
const REFUSED_QUERY = 'SWITCHYARD_SQL_PREPARE_NOT_MAPPED';
const SYNTAX_ERROR = '42601';

/** What sql-prepare needs of the prepared session (prepared-session.ts). */
export interface SqlPrepareSession {
  readonly host: PreparedSessionHost;
  readonly statements: ClientStatements;
  /** Client names whose PREPARE has not been answered yet. */
  readonly unconfirmed: Set<string>;
  readonly queue: RequestQueue;
  /** Before `serverName` is prepared on `server`: hidden Closes of LRU statements beyond the cache (and of a name the server may still have). */
  makeRoom(server: ServerConnection, out: Buffer[], serverName: string): void;
  /** The 53400 answer for the tenant's statement budget. */
  budgetError(): Buffer;
}

/** A Query message whose text is a latin1 string (byte for byte what the client sent, names replaced). */
function queryLatin1(text: string): Buffer {
  const n = Buffer.byteLength(text, 'latin1');
  const out = Buffer.allocUnsafe(1 + 4 + n + 1);
  out[0] = FE_QUERY;
  out.writeInt32BE(4 + n + 1, 1);
  out.write(text, 5, 'latin1');
  out[5 + n] = 0;
  return out;
}

/** PostgreSQL's NOTICE for an identifier longer than 63 bytes (scansup.c truncate_identifier). */
function truncationNotice(name: NameToken): Buffer | null {
  if (name.untruncated === null) return null;
  return msg.noticeResponse({ severity: 'NOTICE', code: '42622', message: `identifier "${name.untruncated}" will be truncated to "${name.name}"` });
}

function notMapped(message: string, hint: string): Buffer {
  const e = new PoolerError('SQL_PREPARE_NOT_MAPPED', message, { hint });
  return msg.errorResponse({ severity: 'ERROR', code: e.sqlstate, message: e.message, hint: e.hint });
}

/**
 * Looks at a client's simple Query (body with its NUL); returns true when it handled it (sent
 * what stands for it and queued its reply), false to forward it as it is.
 */
export function interceptSqlPrepare(session: SqlPrepareSession, body: Buffer, server: ServerConnection, out: Buffer[]): boolean {
  const text = body.toString('latin1', 0, Math.max(0, body.length - 1));
  const cmd = parseSqlPrepare(text, session.host.params.get('standard_conforming_strings') === 'off');
  if (cmd === null) return false;
  const statements = session.statements;
  if (cmd.kind === SQL_DEALLOCATE_ALL) {
    // Reaches the server too (its unmapped statements of this transaction); its tag clears the
    // server connection's cache (reply-inspector.ts).
    if (cmd.single) statements.clear();
    return false;
  }
  const name = cmd.name!;
  const stmt = statements.get(name.name);
  if (cmd.kind === SQL_DEALLOCATE) {
    // Not the client's: PostgreSQL's own answer (26000, or an unmapped statement of this transaction).
    if (!cmd.single || stmt === undefined) return false;
    // In a failed transaction block PostgreSQL refuses it (25P02) and the name stays: let the
    // server say so (the status is current when nothing is outstanding).
    if (session.host.txStatus === codes.TX_FAILED && session.host.pending === 0) return false;
    statements.delete(name.name);
    session.unconfirmed.delete(name.name);
    const cc = msg.commandComplete('DEALLOCATE');
    const notice = truncationNotice(name);
    session.queue.push(LOCAL, FE_QUERY, null, null, notice === null ? cc : Buffer.concat([notice, cc]), true);
    return true;
  }
  if (cmd.kind === SQL_EXECUTE) {
    // A name the client does not have: PostgreSQL's own 26000 (or an unmapped statement).
    if (stmt === undefined) return false;
    if (!stmt.sql) {
      return refuse(session, out, notMapped(`prepared statement "${name.name}" was prepared with the extended protocol: EXECUTE of it is not supported in transaction pooling mode`, 'prepare it with SQL PREPARE, or execute it with Bind/Execute'));
    }
    if (!cmd.single) {
      return refuse(session, out, notMapped(`EXECUTE of prepared statement "${name.name}" in a query with several statements is not supported in transaction pooling mode`, 'send EXECUTE as a query of its own'));
    }
    let prefix = '';
    let hidden = false;
    if (!server.statements.has(stmt.serverName)) {
      session.makeRoom(server, out, stmt.serverName);
      prefix = `${statements.registry.sqlPrepareText(stmt)};`;
      server.statements.add(stmt.serverName);
      hidden = true;
    }
    return send(session, out, text, name, prefix, {
      kind: SQL_EXECUTE,
      clientName: name.name,
      serverName: stmt.serverName,
      stmt,
      hiddenName: hidden ? stmt.serverName : null,
      hiddenStmt: hidden ? stmt : null,
    });
  }
  // PREPARE. With several statements in the Query it passes unmapped (the server's statement
  // lasts until the end of the transaction; reply-inspector.ts adds a WARNING saying so).
  if (!cmd.single) return false;
  if (stmt !== undefined) {
    let prefix = '';
    if (!server.statements.has(DUPLICATE_NAME)) {
      session.makeRoom(server, out, DUPLICATE_NAME);
      prefix = `PREPARE "${DUPLICATE_NAME}" AS SELECT;`;
      server.statements.add(DUPLICATE_NAME);
    }
    return send(session, out, text, name, prefix, {
      kind: SQL_DUPLICATE,
      clientName: name.name,
      serverName: DUPLICATE_NAME,
      stmt: null,
      hiddenName: prefix === '' ? null : DUPLICATE_NAME,
      hiddenStmt: null,
    });
  }
  const defined = statements.defineSql(name.name, text.substring(cmd.restStart, cmd.restEnd));
  if (defined === null) return refuse(session, out, session.budgetError());
  session.unconfirmed.add(name.name);
  if (server.statements.has(defined.serverName)) {
    // Another client's statement of the same text is prepared there: prepared afresh, so the
    // server validates this PREPARE (search_path, tables) as PostgreSQL would.
    out.push(encodeTarget(codes.FE_CLOSE, codes.TARGET_STATEMENT, defined.serverName));
    session.queue.push(HIDE, codes.FE_CLOSE, null, null, null);
  } else session.makeRoom(server, out, defined.serverName);
  server.statements.add(defined.serverName);
  return send(session, out, text, name, '', {
    kind: SQL_PREPARE,
    clientName: name.name,
    serverName: defined.serverName,
    stmt: defined,
    hiddenName: null,
    hiddenStmt: null,
  });
}

/** Sends `prefix` + the client's text with its name token replaced by the quoted server name. */
function send(
  session: SqlPrepareSession,
  out: Buffer[],
  text: string,
  name: NameToken,
  prefix: string,
  q: Pick<SqlQuery, 'kind' | 'clientName' | 'serverName' | 'stmt' | 'hiddenName' | 'hiddenStmt'>,
): true {
  const token = `"${q.serverName}"`;
  out.push(queryLatin1(prefix + text.substring(0, name.start) + token + text.substring(name.end)));
  const sql: SqlQuery = {
    ...q,
    prefixChars: charCount(prefix, 0, prefix.length),
    nameAt: charCount(text, 0, name.start),
    clientNameChars: charCount(text, name.start, name.end),
    serverNameChars: token.length,
    notice: truncationNotice(name),
    error: null,
  };
  session.queue.push(SYNC, FE_QUERY, null, null, null, false, 0, sql);
  session.host.pending++;
  return true;
}

/**
 * Refuses the client's Query with `error`: the server is sent a query that fails (42601), so the
 * transaction state is the server's own (a transaction block fails, as with any error), and
 * `error` is shown in place of its error (in a failed block the server's 25P02 passes).
 */
function refuse(session: SqlPrepareSession, out: Buffer[], error: Buffer): true {
  out.push(msg.query(REFUSED_QUERY));
  const sql: SqlQuery = {
    kind: SQL_REFUSED,
    clientName: '',
    serverName: '',
    stmt: null,
    hiddenName: null,
    hiddenStmt: null,
    prefixChars: 0,
    nameAt: 0,
    clientNameChars: 0,
    serverNameChars: 0,
    notice: null,
    error,
  };
  session.queue.push(SYNC, FE_QUERY, null, null, null, false, 0, sql);
  session.host.pending++;
  return true;
}

// ---- replies (prepared-replies.ts) --------------------------------------------------------

/** A CommandComplete of a mapped Query: returns whether it is hidden (the pooler's prefix). */
export function sqlCommandComplete(sql: SqlQuery, statements: ClientStatements, unconfirmed: Set<string>): boolean {
  if (sql.hiddenName !== null) {
    if (sql.hiddenStmt !== null) statements.registry.confirm(sql.hiddenStmt);
    sql.hiddenName = null;
    sql.hiddenStmt = null;
    return true;
  }
  if (sql.kind === SQL_PREPARE && sql.stmt !== null) {
    unconfirmed.delete(sql.clientName);
    // The server accepted the text: only now may other clients of the tenant find it.
    statements.registry.confirm(sql.stmt);
    sql.stmt = null;
  }
  return false;
}

/**
 * An ErrorResponse of a mapped Query (fields decoded, or undefined when it could not be): forgets
 * what did not come to be, and returns the error as the client must see it (null: as it is).
 */
export function sqlError(sql: SqlQuery, fields: Record<string, string> | undefined, server: ServerConnection | null, statements: ClientStatements, unconfirmed: Set<string>): Buffer | null {
  // The pooler's PREPARE did not run (or failed): the server does not have it.
  if (sql.hiddenName !== null) server?.statements.delete(sql.hiddenName);
  sql.hiddenName = null;
  sql.hiddenStmt = null;
  if (sql.kind === SQL_PREPARE && sql.stmt !== null) {
    // A failed PREPARE defines nothing, on the server or for the client.
    server?.statements.delete(sql.stmt.serverName);
    unconfirmed.delete(sql.clientName);
    if (statements.get(sql.clientName) === sql.stmt) statements.delete(sql.clientName);
    sql.stmt = null;
  }
  if (fields === undefined) return null;
  if (sql.kind === SQL_REFUSED) return fields.C === SYNTAX_ERROR ? sql.error : null;
  if (sql.kind === SQL_EXECUTE && sql.stmt !== null && fields.C === '0A000' && /cached plan must not change result type/.test(fields.M ?? '')) {
    // As for protocol-level statements: a new server-side name, so the next EXECUTE prepares it afresh.
    statements.registry.invalidate(sql.stmt);
  }
  const quoted = `"${sql.serverName}"`;
  let changed = false;
  if (fields.M?.includes(quoted)) {
    fields.M = fields.M.split(quoted).join(`"${sql.clientName}"`);
    changed = true;
  }
  if (fields.P !== undefined) {
    const p = clientPosition(sql, Number(fields.P));
    if (p === null) delete fields.P;
    else fields.P = String(p);
    changed = true;
  }
  return changed ? encodeErrorFields(BE_ERROR_RESPONSE, fields) : null;
}

/**
 * The position (1-based, in characters) in the client's text for a position in the text the
 * server ran; null when it falls in the pooler's prefix (the statement prepared earlier).
 */
export function clientPosition(sql: SqlQuery, p: number): number | null {
  if (!Number.isFinite(p) || p <= sql.prefixChars) return null;
  const q = p - sql.prefixChars;
  if (q - 1 < sql.nameAt) return q;
  if (q - 1 < sql.nameAt + sql.serverNameChars) return sql.nameAt + 1;
  return q - sql.serverNameChars + sql.clientNameChars;
}
