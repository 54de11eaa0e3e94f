// Which statement ends a failed transaction block, read from the bytes of a Query or Parse the way
// PostgreSQL's scanner and grammar read them (src/backend/parser/scan.l and gram.y,
// TransactionStmt). In a failed block PostgreSQL runs only "transaction exit" statements
// (IsTransactionExitStmt); a block whose server connection was lost (lost-transaction.ts) has
// nothing left to roll back to, so only these end it:
//
//   (ABORT | COMMIT | ROLLBACK | END) [WORK | TRANSACTION] [AND [NO] CHAIN]
//
// Everything else is 'other', including ROLLBACK TO SAVEPOINT (told apart as 'savepoint' for a
// clearer error), ROLLBACK/COMMIT PREPARED and PREPARE TRANSACTION. Reading errs on the safe side:
// whatever is not certainly one of the forms above is 'other' (the block stays failed).

/** 'end': ends the block; 'chain': ends it and asks for a new one (AND CHAIN); 'empty': no statement. */
export type ExitKind = 'end' | 'chain' | 'savepoint' | 'other' | 'empty';

export interface FirstStatement {
  kind: ExitKind;
  /** Offset just past the first statement and its ';' (== end when it was the last). */
  restStart: number;
  /** Whether another statement follows (more than white space, comments and ';'). */
  more: boolean;
}

// scan.l (PostgreSQL 15): space [ \t\n\r\f]; PostgreSQL 16 adds \v. Accepting less than the server
// is safe: the statement is then 'other'.
function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0c;
}

// ident_start [A-Za-z\200-\377_], ident_cont adds [0-9\$]: the scanner works on bytes.
function isIdentStart(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b >= 0x80;
}

function isIdentCont(b: number): boolean {
  return isIdentStart(b) || (b >= 0x30 && b <= 0x39) || b === 0x24;
}

/**
 * Skips white space and comments ("--" to the end of the line; "/* ... *\/", nested) from `i`;
 * returns the next offset, or -1 inside an unterminated block comment.
 */
function skipSpace(buf: Buffer, i: number, end: number): number {
  while (i < end) {
    const b = buf[i]!;
    if (isSpace(b)) i++;
    else if (b === 0x2d && buf[i + 1] === 0x2d && i + 1 < end) {
      i += 2;
      while (i < end && buf[i] !== 0x0a && buf[i] !== 0x0d) i++;
    } else if (b === 0x2f && buf[i + 1] === 0x2a && i + 1 < end) {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i + 1 >= end) return -1;
        if (buf[i] === 0x2f && buf[i + 1] === 0x2a) {
          depth++;
          i += 2;
        } else if (buf[i] === 0x2a && buf[i + 1] === 0x2f) {
          depth--;
          i += 2;
        } else i++;
      }
    } else break;
  }
  return i;
}

/** Skips white space, comments and empty statements (';'); -1 inside an unterminated comment. */
function skipEmpty(buf: Buffer, i: number, end: number): number {
  for (;;) {
    i = skipSpace(buf, i, end);
    if (i < 0 || i >= end || buf[i] !== 0x3b) return i;
    i++;
  }
}

const ENDS = new Set(['abort', 'commit', 'rollback', 'end']);
const OPT_TRANSACTION = new Set(['work', 'transaction']);
/** The longest exit form: ROLLBACK WORK AND NO CHAIN. */
const MAX_WORDS = 5;

/** Matches the words of one statement against the grammar above. */
function kindOf(words: string[], clean: boolean): ExitKind {
  if (words.length === 0 || !ENDS.has(words[0]!)) return 'other';
  let i = 1;
  if (i < words.length && OPT_TRANSACTION.has(words[i]!)) i++;
  if (words[0] === 'rollback' && words[i] === 'to') return 'savepoint';
  if (!clean) return 'other';
  if (i === words.length) return 'end';
  if (words[i] !== 'and') return 'other';
  if (i + 2 === words.length && words[i + 1] === 'chain') return 'chain';
  if (i + 3 === words.length && words[i + 1] === 'no' && words[i + 2] === 'chain') return 'end';
  return 'other';
}

/**
 * Reads the first statement of the SQL text in buf[start, end). Only keywords, white space and
 * comments can make up an exit statement, so the first ';' after them ends it; the text after
 * that is not read (beyond telling whether it holds another statement).
 */
export function firstStatement(buf: Buffer, start = 0, end = buf.length): FirstStatement {
  let i = skipEmpty(buf, start, end);
  if (i < 0) return { kind: 'other', restStart: end, more: false };
  if (i >= end) return { kind: 'empty', restStart: end, more: false };
  const words: string[] = [];
  let clean = false;
  while (words.length <= MAX_WORDS) {
    const b = buf[i]!;
    if (!isIdentStart(b)) break;
    const from = i;
    let ascii = true;
    while (i < end && isIdentCont(buf[i]!)) {
      const c = buf[i]!;
      // Keywords are ASCII letters, matched case-insensitively (ASCII only: a non-ASCII byte makes
      // an identifier, never a keyword).
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a))) ascii = false;
      i++;
    }
    words.push(ascii ? buf.toString('latin1', from, i).toLowerCase() : '');
    i = skipSpace(buf, i, end);
    if (i < 0) break;
    if (i >= end || buf[i] === 0x3b) {
      clean = true;
      break;
    }
  }
  const kind = kindOf(words, clean);
  if (!clean || (kind !== 'end' && kind !== 'chain')) return { kind, restStart: end, more: false };
  const restStart = i < end ? i + 1 : end;
  const next = skipEmpty(buf, restStart, end);
  return { kind, restStart, more: next !== end };
}
