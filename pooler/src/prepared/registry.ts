// Named prepared statements in transaction mode: every distinct statement (query text + parameter
// types) gets one pooler-chosen server-side name, shared by all clients and all server
// connections of this process. Clients keep their own names (frontend/tracked.ts maps them); each
// server connection remembers which server-side names it has prepared (ServerStatements).
import { encodeParse } from '../net/extended.ts';

export interface Statement {
  /** The name used on server connections; changes when the statement is invalidated. */
  serverName: string;
  /** A ready-to-send Parse message under serverName. */
  parse: Buffer;
  /** Query text, NUL, parameter count and types: the Parse body after the name. */
  readonly rest: Buffer;
}

export class StatementRegistry {
  private readonly byKey = new Map<string, Statement>();
  private nextId = 1;
  private readonly maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.maxEntries = maxEntries;
  }

  /** The shared statement for this Parse body (query text + parameter types). */
  get(rest: Buffer): Statement {
    const key = rest.toString('latin1');
    let s = this.byKey.get(key);
    if (s === undefined) {
      const serverName = `sy_${this.nextId++}`;
      // Copy: `rest` is a view into a network buffer.
      const own = Buffer.from(rest);
      s = { serverName, parse: encodeParse(serverName, own), rest: own };
      this.byKey.set(key, s);
      if (this.byKey.size > this.maxEntries) {
        // Forgetting the oldest entry is safe: its clients keep their Statement objects, and a
        // new entry for the same text simply gets a new server-side name.
        const oldest = this.byKey.keys().next().value;
        if (oldest !== undefined) this.byKey.delete(oldest);
      }
    }
    return s;
  }

  /**
   * Gives the statement a new server-side name so every server connection prepares it afresh
   * (after "cached plan must not change result type"). Servers holding the old name let it age
   * out of their LRU.
   */
  invalidate(s: Statement): void {
    s.serverName = `sy_${this.nextId++}`;
    s.parse = encodeParse(s.serverName, s.rest);
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** The server-side names prepared on one server connection, least recently used first. */
export class ServerStatements {
  private readonly names = new Map<string, true>();

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
