// One tracked client's statement names → its tenant's shared statements (registry.ts). Every
// name is a counted reference: it keeps its statement in the registry and is charged to the
// tenant's byte budget until the name is closed, deallocated, discarded or the client leaves.
import type { Statement, StatementRegistry } from './registry.ts';

export class ClientStatements {
  private readonly byName = new Map<string, Statement>();
  readonly registry: StatementRegistry;

  constructor(registry: StatementRegistry) {
    this.registry = registry;
  }

  get(name: string): Statement | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Points `name` at the statement for `rest` (replacing what it named before). Returns null,
   * and changes nothing, when the tenant's budget does not allow it.
   */
  define(name: string, rest: Buffer): Statement | null {
    const s = this.registry.acquire(rest, name);
    if (s === null) return null;
    this.delete(name);
    this.byName.set(name, s);
    return s;
  }

  /** As define, for SQL `PREPARE name <rest>` (registry.acquireSql). */
  defineSql(name: string, rest: string): Statement | null {
    const s = this.registry.acquireSql(rest, name);
    if (s === null) return null;
    this.delete(name);
    this.byName.set(name, s);
    return s;
  }

  delete(name: string): boolean {
    const s = this.byName.get(name);
    if (s === undefined) return false;
    this.byName.delete(name);
    this.registry.release(s, name);
    return true;
  }

  /** Drops every name (DISCARD ALL, DEALLOCATE ALL, the client left). */
  clear(): void {
    for (const [name, s] of this.byName) this.registry.release(s, name);
    this.byName.clear();
  }

  get size(): number {
    return this.byName.size;
  }
}
