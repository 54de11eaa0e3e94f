// Recognises a simple Query that is exactly one `LISTEN channel`, `UNLISTEN channel` or
// `UNLISTEN *` statement (transaction mode: the pooler keeps the client's channels on the tenant's
// listener connection, frontend/notify-client.ts). The channel is an SQL identifier, folded as
// PostgreSQL's scanner folds it (src/backend/parser/scan.l: unquoted names are down-cased (ASCII
// only), quoted names are taken as written with "" for a double quote), so the pooler's name is the
// one PostgreSQL would listen on and report in NotificationResponse.
//
// Anything else (several statements, a reserved word as the name, U&"..." names, a statement in a
// DO block) is not recognised and goes to the server as any statement would; a LISTEN there is
// refused (reply-inspector.ts): the pooler could not know its channel.

/** What the statement asks. `channel` null: `UNLISTEN *`. `tooLong`: a name of NAMEDATALEN bytes or more. */
export interface NotifyStatement {
  readonly listen: boolean;
  readonly channel: string | null;
  readonly tooLong: boolean;
}

/** PostgreSQL's NAMEDATALEN - 1: the longest identifier, in bytes (pg_config_manual.h). */
export const MAX_CHANNEL_BYTES = 63;

/**
 * Whether a Query whose text starts with byte `first` may be a LISTEN/UNLISTEN: L, U (any case),
 * white space or the start of a comment. One compare chain per Query on the hot path.
 */
export function mayBeNotifyStatement(first: number): boolean {
  const f = first | 0x20;
  return f === 0x6c /* l */ || f === 0x75 /* u */ || first === 0x20 || first === 0x0a || first === 0x09 || first === 0x0d || first === 0x2d /* - */ || first === 0x2f /* / */;
}

/**
 * Whether the text at b[i..end) starts (after white space) with LISTEN or UNLISTEN in any case, or
 * with a comment: only such texts are decoded and parsed, so an UPDATE or a query starting with a
 * newline costs a few byte compares, not a string.
 */
export function startsLikeNotify(b: Buffer, i: number, end: number): boolean {
  let c = 0;
  while (i < end && isSpace((c = b[i]!))) i++;
  if (i >= end) return false;
  if (c === 0x2d /* - */ || c === 0x2f /* / */) return true;
  // Plain loops over the bytes, no closure: this runs for every UPDATE on the hot path.
  const word = (c | 0x20) === 0x6c ? LISTEN : (c | 0x20) === 0x75 ? UNLISTEN : null;
  if (word === null || end - i < word.length) return false;
  for (let k = 1; k < word.length; k++) if ((b[i + k]! | 0x20) !== word[k]) return false;
  return true;
}

/** startsLikeNotify for a latin1 string (a prepared statement's key). */
export function stringStartsLikeNotify(s: string): boolean {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  if (i >= s.length) return false;
  const c = s.charCodeAt(i);
  if (c === 0x2d || c === 0x2f) return true;
  const word = (c | 0x20) === 0x6c ? LISTEN : (c | 0x20) === 0x75 ? UNLISTEN : null;
  if (word === null || s.length - i < word.length) return false;
  for (let k = 1; k < word.length; k++) if ((s.charCodeAt(i + k) | 0x20) !== word[k]) return false;
  return true;
}

const LISTEN = [...'listen'].map((ch) => ch.charCodeAt(0));
const UNLISTEN = [...'unlisten'].map((ch) => ch.charCodeAt(0));

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Keywords that cannot be a ColId (PostgreSQL 15 kwlist.h: RESERVED_KEYWORD and TYPE_FUNC_NAME_KEYWORD). */
const NOT_COLID = new Set(
  (
    'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create ' +
    'current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc ' +
    'distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral ' +
    'leading limit localtime localtimestamp not null offset on only or order placing primary references returning ' +
    'select session_user some symmetric table then to trailing true union unique user using variadic when where window with ' +
    'authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left like ' +
    'natural notnull outer overlaps right similar tablesample verbose'
  ).split(' '),
);

const SPACE = /[ \t\n\r\f\v]/;
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Skips white space and comments (`--` to end of line, nested C-style block comments); -1 on an unterminated comment. */
function skipSpace(s: string, i: number): number {
  for (;;) {
    while (i < s.length && SPACE.test(s[i]!)) i++;
    if (s.startsWith('--', i)) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl + 1;
    } else if (s.startsWith('/*', i)) {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= s.length) return -1;
        if (s.startsWith('/*', i)) (depth++, (i += 2));
        else if (s.startsWith('*/', i)) (depth--, (i += 2));
        else i++;
      }
    } else return i;
  }
}

/** The Query text `sql` as one LISTEN/UNLISTEN statement, or null when it is anything else. */
export function parseNotifyStatement(sql: string): NotifyStatement | null {
  let i = skipSpace(sql, 0);
  if (i < 0) return null;
  let listen: boolean;
  if (/^listen/i.test(sql.slice(i, i + 6))) (listen = true), (i += 6);
  else if (/^unlisten/i.test(sql.slice(i, i + 8))) (listen = false), (i += 8);
  else return null;
  // The keyword must end here (LISTENX is another word).
  if (i < sql.length && IDENT_CONT.test(sql[i]!)) return null;
  i = skipSpace(sql, i);
  if (i < 0 || i >= sql.length) return null;
  let channel: string | null;
  if (sql[i] === '*') {
    if (listen) return null;
    channel = null;
    i++;
  } else if (sql[i] === '"') {
    let name = '';
    i++;
    for (;;) {
      const q = sql.indexOf('"', i);
      if (q < 0) return null;
      name += sql.slice(i, q);
      if (sql[q + 1] === '"') {
        name += '"';
        i = q + 2;
      } else {
        i = q + 1;
        break;
      }
    }
    // A zero-length delimited identifier is a syntax error: the server says so.
    if (name.length === 0) return null;
    channel = name;
  } else if (IDENT_START.test(sql[i]!)) {
    const begin = i;
    while (i < sql.length && IDENT_CONT.test(sql[i]!)) i++;
    // U&"..." and the like are left to the server.
    if (sql[i] === '&' || sql[i] === "'") return null;
    channel = sql.slice(begin, i).replace(/[A-Z]+/g, (m) => m.toLowerCase());
    if (NOT_COLID.has(channel)) return null;
  } else return null;
  i = skipSpace(sql, i);
  if (i >= 0 && sql[i] === ';') i = skipSpace(sql, i + 1);
  if (i < 0 || i !== sql.length) return null;
  const tooLong = channel !== null && Buffer.byteLength(channel, 'utf8') > MAX_CHANNEL_BYTES;
  return { listen, channel, tooLong };
}

/** The channel as an SQL identifier for the listener's own statements. */
export function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
