// Result sets and errors of the admin console, encoded with the simple-query reply messages
// (PostgreSQL docs, "Simple Query": RowDescription, DataRow*, CommandComplete). Column types are
// the ones PgBouncer 1.18 reports in its RowDescription (text 25, int4 23, numeric 1700), so a
// driver decodes our SHOW output exactly as it decodes PgBouncer's.
import * as msg from '../net/messages.ts';

export const TEXT = 25;
export const INT4 = 23;
/** PgBouncer's 64-bit counters (total_*, avg_*) travel as numeric. */
export const NUMERIC = 1700;

export interface Column {
  readonly name: string;
  readonly type: typeof TEXT | typeof INT4 | typeof NUMERIC;
}

export type Cell = string | number | null;

/** A SHOW result: columns, rows; the command tag is "SHOW" as in PgBouncer. */
export interface ResultSet {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Cell[])[];
}

/** What a command answers: a result set, or just a command tag (PAUSE, RESUME, ...). */
export type AdminReply = { readonly kind: 'rows'; readonly result: ResultSet } | { readonly kind: 'tag'; readonly tag: string; readonly notices?: readonly string[] };

/**
 * What running a command yields: a reply, or nothing for an empty query; `after` runs once the
 * reply is sent. Here rather than in dispatch.ts so that admin/host.ts (which dispatch.ts and every
 * command import) needs nothing from dispatch.ts: no import cycle.
 */
export interface Outcome {
  reply: AdminReply | null;
  after?: () => void;
}

export function rows(columns: readonly Column[], data: readonly (readonly Cell[])[]): AdminReply {
  return { kind: 'rows', result: { columns, rows: data } };
}

export function tag(name: string, notices?: readonly string[]): AdminReply {
  return notices ? { kind: 'tag', tag: name, notices } : { kind: 'tag', tag: name };
}

/** Shorthand for column lists: `cols(['database', TEXT], ['cl_active', INT4])`. */
export function cols(...spec: [string, Column['type']][]): Column[] {
  return spec.map(([name, type]) => ({ name, type }));
}

function cellText(v: Cell): string | null {
  if (v === null) return null;
  return typeof v === 'number' ? String(Math.trunc(v)) : v;
}

/** The wire messages of a reply, without the final ReadyForQuery. */
export function encodeReply(reply: AdminReply): Buffer {
  if (reply.kind === 'tag') {
    const out = (reply.notices ?? []).map((m) => msg.noticeResponse({ severity: 'NOTICE', code: '00000', message: m }));
    out.push(msg.commandComplete(reply.tag));
    return Buffer.concat(out);
  }
  const { columns, rows: data } = reply.result;
  const out: Buffer[] = [msg.rowDescription(columns.map((c) => ({ name: c.name, typeOid: c.type })))];
  for (const r of data) out.push(msg.dataRow(r.map(cellText)));
  out.push(msg.commandComplete('SHOW'));
  return Buffer.concat(out);
}

/** Stable codes of admin console errors (docs/admin.md); the session survives all of them. */
export const adminErrorCatalog = {
  /** Not an admin command (e.g. SELECT): PostgreSQL's syntax_error class. */
  UNKNOWN_COMMAND: '42601',
  /** KILL without a database. */
  DATABASE_REQUIRED: '42601',
  /** No tenant with that id or client-facing database name. */
  NO_SUCH_DATABASE: '3D000',
  /** RESUME of something not paused. */
  NOT_PAUSED: '55000',
  /** Parse/Bind/Execute...: the console speaks the simple query protocol only. */
  EXTENDED_PROTOCOL: '0A000',
  /** RELOAD failed (invalid configuration, unreachable source, no source); the running one stays. */
  RELOAD_FAILED: 'F0000',
  /** PAUSE/KILL/RESUME... while the pooler shuts down. */
  SHUTTING_DOWN: '57P01',
} as const;

export type AdminErrorCode = keyof typeof adminErrorCatalog;

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly sqlstate: string;
  readonly hint: string | undefined;

  constructor(code: AdminErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.sqlstate = adminErrorCatalog[code];
    this.hint = hint;
  }
}

/** "2026-01-02 03:04:05 UTC", the timestamp format of PgBouncer's SHOW CLIENTS/SERVERS. */
export function pgbouncerTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}
