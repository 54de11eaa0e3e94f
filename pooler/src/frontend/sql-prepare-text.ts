// Reading the SQL-level PREPARE / EXECUTE / DEALLOCATE statements that a transaction-mode client
// sends by simple Query (sql-prepare.ts maps them): just enough of PostgreSQL's lexer (scan.l) to
// find the leading keywords, the statement name and where the statement ends.
//
// Texts are handled as latin1 strings, one character per byte: the query goes back to the server
// byte for byte with only the name replaced, whatever the client encoding (for the encodings
// PostgreSQL accepts as server encodings, every byte below 0x80 is ASCII, as the lexer assumes).
// Names are told to the client as UTF-8, like protocol-level statement names (net/extended.ts).

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated (scansup.c truncate_identifier). */
export const MAX_IDENTIFIER_BYTES = 63;

/** A statement name as the lexer reads it. */
export interface NameToken {
  /** The name PostgreSQL uses: unquoted folded to lower case, truncated to 63 bytes. */
  name: string;
  /** Before truncation, when it was truncated (PostgreSQL's NOTICE 42622 names both). */
  untruncated: string | null;
  /** Offsets of the token (quotes included) in the text. */
  start: number;
  end: number;
}

/** `PREPARE name [(types)] AS statement` */
export const SQL_PREPARE = 1;
/** `EXECUTE name [(args)]`, also after `EXPLAIN [options]` and in `CREATE TABLE ... AS EXECUTE` */
export const SQL_EXECUTE = 2;
/** `DEALLOCATE [PREPARE] name` */
export const SQL_DEALLOCATE = 3;
/** `DEALLOCATE [PREPARE] ALL` */
export const SQL_DEALLOCATE_ALL = 4;

export interface SqlPrepareCommand {
  kind: number;
  /** The statement name (null for DEALLOCATE ALL). */
  name: NameToken | null;
  /** PREPARE: the text after the name up to the end of the statement (types, AS, the statement). */
  restStart: number;
  restEnd: number;
  /** Nothing but white space, comments and semicolons follows the statement. */
  single: boolean;
}

function isSpace(c: number): boolean {
  // scan.l: space [ \t\n\r\f] (PostgreSQL 16 adds \v).
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
}

/** Skips white space and comments (`--` to end of line, nested block comments) from `i`. */
export function skipSpace(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) i++;
    else if (c === 0x2d && s.charCodeAt(i + 1) === 0x2d) {
      const nl = s.indexOf('\n', i + 2);
      i = nl < 0 ? n : nl + 1;
    } else if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (s.charCodeAt(i) === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
          depth++;
          i += 2;
        } else if (s.charCodeAt(i) === 0x2a && s.charCodeAt(i + 1) === 0x2f) {
          depth--;
          i += 2;
        } else i++;
      }
    } else break;
  }
  return i;
}

/** The end of the keyword (or unquoted identifier) starting at `i`, or `i` when none starts there. */
function wordEnd(s: string, i: number): number {
  if (i >= s.length || !isIdentStart(s.charCodeAt(i))) return i;
  let j = i + 1;
  while (j < s.length && isIdentChar(s.charCodeAt(j))) j++;
  return j;
}

/** Whether the word at [i, end) is `kw` (upper case), in any case. */
function isWord(s: string, i: number, end: number, kw: string): boolean {
  return end - i === kw.length && s.substring(i, end).toUpperCase() === kw;
}

/** Truncates a UTF-8 name to 63 bytes at a character boundary (pg_mbcliplen). */
function truncate(name: string): { name: string; untruncated: string | null } {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= MAX_IDENTIFIER_BYTES) return { name, untruncated: null };
  let cut = MAX_IDENTIFIER_BYTES;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return { name: bytes.toString('utf8', 0, cut), untruncated: name };
}

/**
 * The identifier at `i`: `"quoted"` (with `""` for a quote, case kept) or unquoted (ASCII letters
 * folded to lower case, as downcase_identifier does for multibyte encodings). Null when none starts
 * there, for a zero-length quoted identifier (the server reports that error) and for `U&"..."`
 * (not mapped).
 */
export function readName(s: string, i: number): NameToken | null {
  const c = s.charCodeAt(i);
  if (c === 0x22) {
    let j = i + 1;
    let raw = '';
    for (;;) {
      const q = s.indexOf('"', j);
      if (q < 0) return null;
      raw += s.substring(j, q);
      if (s.charCodeAt(q + 1) === 0x22) {
        raw += '"';
        j = q + 2;
      } else {
        j = q + 1;
        break;
      }
    }
    if (raw.length === 0) return null;
    return { ...truncate(Buffer.from(raw, 'latin1').toString('utf8')), start: i, end: j };
  }
  const end = wordEnd(s, i);
  if (end === i) return null;
  // U&"name": a Unicode-escaped identifier, left to the server.
  if ((c === 0x55 || c === 0x75) && s.charCodeAt(end) === 0x26) return null;
  const raw = s.substring(i, end).replace(/[A-Z]+/g, (m) => m.toLowerCase());
  return { ...truncate(Buffer.from(raw, 'latin1').toString('utf8')), start: i, end };
}

/**
 * Where the statement starting at `i` ends: the offset of the first `;` outside quotes, dollar
 * quotes, comments and parentheses, or the text's length. `backslashQuotes`: standard_conforming_strings
 * is off, so a backslash escapes in '...' strings too (it always does in E'...').
 */
export function statementEnd(s: string, i: number, backslashQuotes: boolean): number {
  const n = s.length;
  let prevIdent = false;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x3b) return i;
    if (c === 0x27) {
      const e = (i > 0 && (s.charCodeAt(i - 1) | 0x20) === 0x65 && !isIdentChar(s.charCodeAt(i - 2) || 0x20)) || backslashQuotes;
      i = quotedEnd(s, i + 1, 0x27, e);
      prevIdent = false;
      continue;
    }
    if (c === 0x22) {
      i = quotedEnd(s, i + 1, 0x22, false);
      prevIdent = true;
      continue;
    }
    if ((c === 0x2d && s.charCodeAt(i + 1) === 0x2d) || (c === 0x2f && s.charCodeAt(i + 1) === 0x2a)) {
      i = skipSpace(s, i);
      prevIdent = false;
      continue;
    }
    if (c === 0x24 && !prevIdent) {
      // $tag$ ... $tag$ (a dollar quote), not $1 (a parameter).
      let j = i + 1;
      if (j < n && s.charCodeAt(j) !== 0x24) {
        if (!isIdentStart(s.charCodeAt(j))) {
          i = j;
          continue;
        }
        while (j < n && isIdentChar(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x24) j++;
        if (s.charCodeAt(j) !== 0x24) {
          i = j;
          prevIdent = true;
          continue;
        }
      }
      const tag = s.substring(i, j + 1);
      const close = s.indexOf(tag, j + 1);
      i = close < 0 ? n : close + tag.length;
      prevIdent = false;
      continue;
    }
    prevIdent = isIdentChar(c);
    i++;
  }
  return n;
}

/** The offset after the closing `quote` of a quoted string whose body starts at `i` (doubled quotes escape). */
function quotedEnd(s: string, i: number, quote: number, backslash: boolean): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (backslash && c === 0x5c) i += 2;
    else if (c === quote) {
      if (s.charCodeAt(i + 1) === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return n;
}

/**
 * In a CREATE statement: the end of `AS EXECUTE` at the top level (outside parentheses, quotes and
 * comments), or -1 when the first top-level AS is not followed by EXECUTE (CREATE TABLE ... AS
 * SELECT, anything else).
 */
function asExecuteEnd(s: string, i: number, backslashQuotes: boolean): number {
  let depth = 0;
  while (i < s.length) {
    i = skipSpace(s, i);
    const c = s.charCodeAt(i);
    if (c === 0x3b || Number.isNaN(c)) return -1;
    if (c === 0x28) depth++;
    else if (c === 0x29) depth--;
    else if (c === 0x27 || c === 0x22 || c === 0x24) {
      // A quoted string, identifier or dollar quote (or a $1 parameter): skipped whole.
      i = quotedOrDollarEnd(s, i, backslashQuotes);
      continue;
    } else if (isIdentStart(c)) {
      const w = wordEnd(s, i);
      if (depth === 0 && isWord(s, i, w, 'AS')) {
        const next = skipSpace(s, w);
        const e = wordEnd(s, next);
        return isWord(s, next, e, 'EXECUTE') ? e : -1;
      }
      i = w;
      continue;
    }
    i++;
  }
  return -1;
}

/** The end of the quoted string, identifier or dollar quote starting at `i`. */
function quotedOrDollarEnd(s: string, i: number, backslashQuotes: boolean): number {
  const c = s.charCodeAt(i);
  if (c === 0x27) return quotedEnd(s, i + 1, 0x27, backslashQuotes);
  if (c === 0x22) return quotedEnd(s, i + 1, 0x22, false);
  let j = i + 1;
  while (j < s.length && isIdentChar(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x24) j++;
  if (s.charCodeAt(j) !== 0x24) return j;
  const tag = s.substring(i, j + 1);
  const close = s.indexOf(tag, j + 1);
  return close < 0 ? s.length : close + tag.length;
}

/** Only white space, comments and semicolons from `i` on. */
function onlyTrailing(s: string, i: number): boolean {
  for (;;) {
    i = skipSpace(s, i);
    if (i >= s.length) return true;
    if (s.charCodeAt(i) !== 0x3b) return false;
    i++;
  }
}

/**
 * The PREPARE / EXECUTE / EXPLAIN ... EXECUTE / DEALLOCATE that `s` begins with, or null when it
 * begins with anything else (or a form not mapped: `U&` names, CREATE TABLE ... AS EXECUTE).
 */
export function parseSqlPrepare(s: string, backslashQuotes: boolean): SqlPrepareCommand | null {
  let i = skipSpace(s, 0);
  let end = wordEnd(s, i);
  let kind: number;
  if (isWord(s, i, end, 'PREPARE')) kind = SQL_PREPARE;
  else if (isWord(s, i, end, 'EXECUTE')) kind = SQL_EXECUTE;
  else if (isWord(s, i, end, 'DEALLOCATE')) kind = SQL_DEALLOCATE;
  else if (isWord(s, i, end, 'EXPLAIN')) {
    // EXPLAIN [ ( option [, ...] ) ] statement, or EXPLAIN [ ANALYZE ] [ VERBOSE ] statement.
    i = skipSpace(s, end);
    if (s.charCodeAt(i) === 0x28) {
      const close = s.indexOf(')', i);
      if (close < 0) return null;
      i = skipSpace(s, close + 1);
    }
    for (;;) {
      end = wordEnd(s, i);
      if (isWord(s, i, end, 'ANALYZE') || isWord(s, i, end, 'ANALYSE') || isWord(s, i, end, 'VERBOSE')) i = skipSpace(s, end);
      else break;
    }
    if (!isWord(s, i, end, 'EXECUTE')) return null;
    kind = SQL_EXECUTE;
  } else if (isWord(s, i, end, 'CREATE')) {
    // CREATE [TEMP | UNLOGGED] TABLE target [(columns)] [WITH ...] [ON COMMIT ...] [TABLESPACE ...] AS EXECUTE name
    end = asExecuteEnd(s, end, backslashQuotes);
    if (end < 0) return null;
    kind = SQL_EXECUTE;
  } else return null;
  i = skipSpace(s, end);
  if (kind === SQL_DEALLOCATE) {
    const w = wordEnd(s, i);
    // DEALLOCATE PREPARE name; but a statement may itself be called "prepare" (DEALLOCATE prepare).
    if (isWord(s, i, w, 'PREPARE')) {
      const after = skipSpace(s, w);
      if (after < s.length && s.charCodeAt(after) !== 0x3b) i = after;
    }
    const w2 = wordEnd(s, i);
    if (isWord(s, i, w2, 'ALL')) {
      return { kind: SQL_DEALLOCATE_ALL, name: null, restStart: w2, restEnd: w2, single: onlyTrailing(s, w2) };
    }
  }
  const name = readName(s, i);
  if (name === null) return null;
  if (kind === SQL_PREPARE) {
    // `name (types) AS` or `name AS`: anything else is PREPARE TRANSACTION 'gid' (two-phase
    // commit) or a syntax error, both the server's to answer.
    const next = skipSpace(s, name.end);
    if (s.charCodeAt(next) !== 0x28 && !isWord(s, next, wordEnd(s, next), 'AS')) return null;
  }
  const stmtEnd = statementEnd(s, name.end, backslashQuotes);
  return { kind, name, restStart: name.end, restEnd: stmtEnd, single: onlyTrailing(s, stmtEnd) };
}

/** Cheap pre-check of a Query's first body byte: could the text begin with PREPARE? */
export function mayBeginPrepare(first: number): boolean {
  return (first | 0x20) === 0x70 /* p P */ || (first <= 0x20 && first >= 0) || first === 0x2d /* - */ || first === 0x2f /* / */;
}

/**
 * Whether the Query text in buf[from, to) begins with PREPARE: 1 yes, 0 no, -1 cannot tell yet
 * (`complete` false: the text goes on in a later read).
 */
export function beginsWithPrepare(buf: Buffer, from: number, to: number, complete: boolean): number {
  const s = buf.toString('latin1', from, to);
  const i = skipSpace(s, 0);
  // Comments or white space up to the end of what we have: the keyword may follow.
  if (i >= s.length) return complete ? 0 : -1;
  const end = wordEnd(s, i);
  if (end === s.length && !complete) return 'PREPARE'.startsWith(s.substring(i).toUpperCase()) ? -1 : 0;
  return isWord(s, i, end, 'PREPARE') ? 1 : 0;
}

/** Characters PostgreSQL counts (for error positions) in s[from, to): UTF-8, one per lead byte. */
export function charCount(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((s.charCodeAt(i) & 0xc0) !== 0x80) n++;
  return n;
}
