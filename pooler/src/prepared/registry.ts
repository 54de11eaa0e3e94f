// Named prepared statements in transaction mode: one registry per tenant. Every distinct statement
// (query text + parameter types) of a tenant gets one pooler-chosen server-side name, shared by the
// tenant's clients and server connections. Clients keep their own names (client-names.ts maps
// them; frontend/prepared-session.ts rewrites the messages); each server connection remembers which
// server-side names it has prepared (ServerStatements).
//
// Bounds (docs/transaction-mode.md, "Named prepared statements"):
// - a byte budget per tenant (`prepared_statements.max_bytes_per_tenant`) covers the statement
//   texts and every client name that refers to one. Statements no client refers to any more are
//   forgotten least recently used first to make room; when the statements in use fill the budget,
//   a Parse that needs more is refused (53400, frontend/prepared-session.ts);
// - a statement enters the registry only once a server answered its Parse with ParseComplete, so
//   texts the server rejected are not kept;
// - server-side names are `sy_` + a keyed hash (HMAC-SHA-256 with a per-process random secret and
//   the tenant) of the text: the same text gets unrelated names in two tenants, and a name tells
//   nothing about how many statements anyone prepared or which texts another tenant uses (a
//   counter shared by all tenants did: a low number for a new text meant someone had it already).
// Statements prepared with SQL `PREPARE name ... AS ...` (frontend/sql-prepare.ts) live here too,
// under the same budget, in a lookup of their own (keyed by the text after the name) and with
// server-side names hashed in a domain of their own: a Parse can never find a SQL statement.
import { createHmac, randomBytes } from 'node:crypto';
import { FE_PARSE } from '../net/codes.ts';

export interface Statement {
  /** The name used on server connections; changes when the statement is invalidated. */
  serverName: string;
  /** The Parse body after the name (query text, NUL, parameter count and types), as latin1. */
  readonly key: string;
  /** Client names (of any client of the tenant) that refer to it. */
  refs: number;
  /** In the registry's lookup: a server answered its Parse with ParseComplete. */
  registered: boolean;
  /** Prepared with SQL PREPARE: `key` is the text after the name (`(types) AS statement`). */
  readonly sql: boolean;
}

/** Approximate memory of one statement besides its text: object, server name, map entries. */
const STATEMENT_OVERHEAD = 200;
/** Approximate memory of one client name besides its characters: string header, map entry. */
const NAME_OVERHEAD = 80;

function statementBytes(key: string): number {
  return key.length + STATEMENT_OVERHEAD;
}

function nameBytes(name: string): number {
  return name.length + NAME_OVERHEAD;
}

/** One tenant's statements. */
export class StatementRegistry {
  /** Registered statements by text. */
  private readonly byKey = new Map<string, Statement>();
  /** Registered SQL-prepared statements by the text after their name. */
  private readonly bySql = new Map<string, Statement>();
  /** Registered statements no client name refers to, least recently released first. */
  private readonly idle = new Set<Statement>();
  private readonly hmacKey: Buffer;
  private readonly budget: () => number;
  private used = 0;
  /** Invalidations so far: each gives its statement a name never used before in this registry. */
  private invalidations = 0;

  /** `hmacKey`: secret, per tenant; `budget`: the current byte budget (it follows reloads). */
  constructor(hmacKey: Buffer, budget: () => number) {
    this.hmacKey = hmacKey;
    this.budget = budget;
  }

  /**
   * A client's Parse defines `name` as the statement `rest` (the Parse body after the name):
   * returns the statement, with the name's reference counted, or null when the tenant's budget
   * is spent even after forgetting every statement no client refers to.
   */
  acquire(rest: Buffer, name: string): Statement | null {
    return this.acquireKey(rest.toString('latin1'), name, false);
  }

  /**
   * A client's SQL `PREPARE name <rest>` (rest: latin1, the text after the name up to the end of
   * the statement): as acquire, in the SQL statements' own lookup.
   */
  acquireSql(rest: string, name: string): Statement | null {
    return this.acquireKey(rest, name, true);
  }

  private acquireKey(key: string, name: string, sql: boolean): Statement | null {
    let s = (sql ? this.bySql : this.byKey).get(key);
    // An idle statement being taken again must not be forgotten to make room for itself.
    const wasIdle = s !== undefined && s.refs === 0;
    if (wasIdle) this.idle.delete(s!);
    if (!this.reserve(nameBytes(name) + (s === undefined ? statementBytes(key) : 0))) {
      if (wasIdle) this.idle.add(s!);
      return null;
    }
    s ??= { serverName: this.nameFor(key, 0, sql), key, refs: 0, registered: false, sql };
    s.refs++;
    return s;
  }

  /**
   * A server answered a Parse of `s` with ParseComplete: other clients may now find it. Not when
   * its name was closed before the answer came (its bytes are already given back; the next Parse
   * of the text makes it again, under the same server-side name).
   */
  confirm(s: Statement): void {
    const lookup = s.sql ? this.bySql : this.byKey;
    if (s.registered || s.refs === 0 || lookup.has(s.key)) return;
    s.registered = true;
    lookup.set(s.key, s);
  }

  /** The client name `name` no longer refers to `s` (Close, DEALLOCATE, failed Parse, client gone). */
  release(s: Statement, name: string): void {
    this.used -= nameBytes(name);
    if (--s.refs > 0) return;
    if (s.registered) this.idle.add(s);
    // Never confirmed (its Parse failed), or a twin of a statement registered meanwhile.
    else this.used -= statementBytes(s.key);
  }

  /**
   * Gives the statement a new server-side name so every server connection prepares it afresh
   * (after "cached plan must not change result type"). Servers holding the old name let it age
   * out of their LRU.
   */
  invalidate(s: Statement): void {
    s.serverName = this.nameFor(s.key, ++this.invalidations, s.sql);
  }

  /** A Parse message of `s` under its server-side name (built when a server connection needs it). */
  parseMessage(s: Statement): Buffer {
    const nameLen = Buffer.byteLength(s.serverName);
    const out = Buffer.allocUnsafe(1 + 4 + nameLen + 1 + s.key.length);
    out[0] = FE_PARSE;
    out.writeInt32BE(4 + nameLen + 1 + s.key.length, 1);
    out.write(s.serverName, 5, 'utf8');
    out[5 + nameLen] = 0;
    out.write(s.key, 6 + nameLen, 'latin1');
    return out;
  }

  /**
   * The SQL that prepares SQL statement `s` under its server-side name (quoted: the name has upper
   * case letters and '-'). Ends with a newline so that a trailing `--` comment ends before what
   * follows it.
   */
  sqlPrepareText(s: Statement): string {
    return `PREPARE "${s.serverName}"${s.key}\n`;
  }

  /** The tenant's budget now (config `prepared_statements.max_bytes_per_tenant`). */
  get budgetBytes(): number {
    return this.budget();
  }

  /** Bytes counted against the budget now. */
  get bytes(): number {
    return this.used;
  }

  /** Registered statements (in use or idle). */
  get size(): number {
    return this.byKey.size + this.bySql.size;
  }

  /** Makes room for `n` more bytes, forgetting idle statements; false if they do not suffice. */
  private reserve(n: number): boolean {
    const budget = this.budget();
    if (this.used + n > budget) {
      for (const s of this.idle) {
        this.idle.delete(s);
        (s.sql ? this.bySql : this.byKey).delete(s.key);
        s.registered = false;
        this.used -= statementBytes(s.key);
        if (this.used + n <= budget) break;
      }
      if (this.used + n > budget) return false;
    }
    this.used += n;
    return true;
  }

  /**
   * 128 bits of HMAC-SHA-256 over the invalidation generation and the text, base64url: 25
   * characters. SQL statements hash `s<generation>`, Parse texts `<generation>`: disjoint domains.
   */
  private nameFor(key: string, generation: number, sql: boolean): string {
    const mac = createHmac('sha256', this.hmacKey).update(sql ? `s${generation}\0` : `${generation}\0`).update(key, 'latin1').digest();
    return `sy_${mac.toString('base64url', 0, 16)}`;
  }
}

/** The registries of one pooler process: one per tenant, under one secret drawn at start. */
export class StatementRegistries {
  private readonly secret = randomBytes(32);
  private readonly byTenant = new Map<string, StatementRegistry>();
  private readonly budget: () => number;

  constructor(budget: () => number) {
    this.budget = budget;
  }

  forTenant(tenantId: string): StatementRegistry {
    let r = this.byTenant.get(tenantId);
    if (r === undefined) {
      r = new StatementRegistry(createHmac('sha256', this.secret).update(tenantId).digest(), this.budget);
      this.byTenant.set(tenantId, r);
    }
    return r;
  }

  /** The tenant is gone: its clients keep what they hold, new ones will start afresh. */
  drop(tenantId: string): void {
    this.byTenant.delete(tenantId);
  }
}

/** The server-side names prepared on one server connection, least recently used first. */
export class ServerStatements {
  private readonly names = new Map<string, true>();
  /** Names not in `names` may still exist on the server (forgetUnsure). */
  unsure = false;

  has(name: string): boolean {
    if (!this.names.has(name)) return false;
    // Refresh its LRU position.
    this.names.delete(name);
    this.names.set(name, true);
    return true;
  }

  add(name: string): void {
    this.names.set(name, true);
  }

  delete(name: string): void {
    this.names.delete(name);
  }

  clear(): void {
    this.names.clear();
    this.unsure = false;
  }

  /**
   * The server reported a DEALLOCATE of one name, which the tag does not give: forget every name,
   * but the server may still have any of them, so each is closed before it is prepared again
   * (a Parse of a name that exists fails with 42P05).
   */
  forgetUnsure(): void {
    this.names.clear();
    this.unsure = true;
  }

  /** Removes and returns the least recently used names beyond `limit`. */
  evict(limit: number): string[] {
    const out: string[] = [];
    for (const name of this.names.keys()) {
      if (this.names.size - out.length <= limit) break;
      out.push(name);
    }
    for (const name of out) this.names.delete(name);
    return out;
  }

  get size(): number {
    return this.names.size;
  }
}

/** A CommandComplete tag that ends every prepared statement of the session (client names too). */
export function endsAllStatements(tag: string): boolean {
  return tag === 'DISCARD ALL' || tag === 'DEALLOCATE ALL';
}

/**
 * A CommandComplete tag after which a server connection's pooler-named statements can no longer be
 * trusted: DISCARD ALL, DEALLOCATE ALL, and DEALLOCATE of one name (we cannot tell which).
 */
export function endsServerStatements(tag: string): boolean {
  return tag === 'DISCARD ALL' || tag.startsWith('DEALLOCATE');
}
