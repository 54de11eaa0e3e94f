// File-backed TenantStore / ClusterStore / HeartbeatStore / NodeLeaseStore for local mode. State
// lives in `<stateDir>/store.json` (tenants, login guards, idempotency keys, clusters),
// `<stateDir>/heartbeats.json`, `<stateDir>/node-leases.json` and `<stateDir>/budget-leases.json` (written often, kept apart so
// they never contend with control-plane writes). Every mutation is read-modify-write under a lock with an atomic replace
// (atomic-file.ts), giving the same uniqueness and optimistic-locking semantics as DynamoDB.
import { join } from 'node:path';
import { z } from 'zod';
import { clusterSchema, type Cluster, type ClusterPatch, type NewClusterInput } from '../domain/cluster.ts';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../domain/errors.ts';
import { poolerHeartbeatSchema, type PoolerHeartbeat, type PoolerHeartbeatInput } from '../domain/heartbeat.ts';
import { budgetLeasesSchema, type BudgetLeases } from '../domain/budget.ts';
import { leaseLive, nodeLeaseSchema, type NodeLease } from '../domain/node-lease.ts';
import { applyClusterPatch, applyTenantPatch, buildNewCluster, buildNewTenant } from '../domain/lifecycle.ts';
import { pageLimit } from '../domain/paging.ts';
import { parseOrThrow } from '../domain/parse.ts';
import { claimedLoginKeys, tenantSchema, type NewTenantInput, type Tenant, type TenantPatch } from '../domain/tenant.ts';
import type { BudgetLeaseStore, ClusterStore, CreateOptions, HeartbeatStore, ListOptions, NodeLeaseStore, Page, TenantStore } from '../ports/store.ts';
import { ensureDir, readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

/** How long an idempotency key is honoured (matches the DynamoDB adapter's TTL). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

const storeStateSchema = z.object({
  tenants: z.record(z.string(), tenantSchema).default({}),
  /** loginKey(client) → tenantId */
  logins: z.record(z.string(), z.string()).default({}),
  idempotency: z.record(z.string(), z.object({ tenantId: z.string(), expiresAt: z.string() })).default({}),
  clusters: z.record(z.string(), clusterSchema).default({}),
});
type StoreState = z.infer<typeof storeStateSchema>;

const heartbeatStateSchema = z.record(z.string(), poolerHeartbeatSchema);
type HeartbeatState = z.infer<typeof heartbeatStateSchema>;

/** node id (decimal) → its lease. */
const nodeLeaseStateSchema = z.record(z.string(), nodeLeaseSchema);
type NodeLeaseState = z.infer<typeof nodeLeaseStateSchema>;

export interface FileStoreOptions {
  now?: () => Date;
}

/** One JSON document with locked read-modify-write. */
class JsonDocument<T> {
  readonly path: string;
  readonly #parse: (raw: unknown) => T;
  constructor(path: string, parse: (raw: unknown) => T) {
    this.path = path;
    this.#parse = parse;
  }
  async read(): Promise<T> {
    return this.#parse((await readJsonFile(this.path)) ?? {});
  }
  /** `fn` mutates the state in place and returns a result; the state is written only if fn returns normally. */
  async mutate<R>(fn: (state: T) => R): Promise<R> {
    return withFileLock(this.path, async () => {
      const state = await this.read();
      const result = fn(state);
      await writeFileAtomic(this.path, JSON.stringify(state, null, 2) + '\n');
      return result;
    });
  }
}

const has = (o: object, k: string): boolean => Object.hasOwn(o, k);

export class FileTenantStore implements TenantStore {
  readonly #doc: JsonDocument<StoreState>;
  readonly #now: () => Date;
  constructor(doc: JsonDocument<StoreState>, now: () => Date) {
    this.#doc = doc;
    this.#now = now;
  }

  async create(input: NewTenantInput, opts: CreateOptions = {}): Promise<Tenant> {
    const now = this.#now();
    const tenant = buildNewTenant(input, now);
    const key = opts.idempotencyKey;
    return this.#doc.mutate((s) => {
      if (key !== undefined && has(s.idempotency, key)) {
        const rec = s.idempotency[key];
        if (rec && Date.parse(rec.expiresAt) > now.getTime()) {
          if (rec.tenantId !== tenant.tenantId) {
            throw new ConflictError('idempotency-key-reused', 'idempotency key was used for another tenant');
          }
          const existing = has(s.tenants, tenant.tenantId) ? s.tenants[tenant.tenantId] : undefined;
          if (existing) return existing;
        }
      }
      if (has(s.tenants, tenant.tenantId)) throw new ConflictError('exists', `tenant ${tenant.tenantId} already exists`);
      // Its login, and its read endpoint's login (`<database>_ro`) when on: each one tenant's only.
      const logins = claimedLoginKeys(tenant);
      if (logins.some((l) => has(s.logins, l))) throw new ConflictError('login-taken', LOGIN_TAKEN);
      s.tenants[tenant.tenantId] = tenant;
      for (const l of logins) s.logins[l] = tenant.tenantId;
      if (key !== undefined) {
        s.idempotency[key] = { tenantId: tenant.tenantId, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString() };
      }
      for (const [k, rec] of Object.entries(s.idempotency)) {
        if (Date.parse(rec.expiresAt) <= now.getTime()) delete s.idempotency[k];
      }
      return tenant;
    });
  }

  async get(tenantId: string): Promise<Tenant | undefined> {
    const s = await this.#doc.read();
    return has(s.tenants, tenantId) ? s.tenants[tenantId] : undefined;
  }

  async list(opts: ListOptions = {}): Promise<Page<Tenant>> {
    const limit = pageLimit(opts.limit);
    const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor).after;
    const s = await this.#doc.read();
    const ids = Object.keys(s.tenants)
      .sort()
      .filter((id) => after === undefined || id > after);
    const pageIds = ids.slice(0, limit);
    const items = pageIds.map((id) => s.tenants[id]).filter((t): t is Tenant => t !== undefined);
    const last = pageIds[pageIds.length - 1];
    return ids.length > limit && last !== undefined ? { items, cursor: encodeCursor({ after: last }) } : { items };
  }

  async listByCluster(clusterId: string): Promise<Tenant[]> {
    const s = await this.#doc.read();
    return Object.values(s.tenants)
      .filter((t) => t.destination.clusterId === clusterId)
      .sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  }

  async update(tenantId: string, expectedVersion: number, patch: TenantPatch): Promise<Tenant> {
    const now = this.#now();
    return this.#doc.mutate((s) => {
      const current = has(s.tenants, tenantId) ? s.tenants[tenantId] : undefined;
      if (!current) throw new NotFoundError('tenant', tenantId);
      if (current.version !== expectedVersion) throw new VersionConflictError('tenant', tenantId, expectedVersion, current.version);
      const next = applyTenantPatch(current, patch, now);
      const oldLogins = claimedLoginKeys(current);
      const newLogins = claimedLoginKeys(next);
      const added = newLogins.filter((l) => !oldLogins.includes(l));
      if (added.some((l) => has(s.logins, l) && s.logins[l] !== tenantId)) throw new ConflictError('login-taken', LOGIN_TAKEN);
      for (const l of oldLogins) if (!newLogins.includes(l) && s.logins[l] === tenantId) delete s.logins[l];
      for (const l of added) s.logins[l] = tenantId;
      s.tenants[tenantId] = next;
      return next;
    });
  }

  async delete(tenantId: string, expectedVersion?: number): Promise<void> {
    await this.#doc.mutate((s) => {
      const current = has(s.tenants, tenantId) ? s.tenants[tenantId] : undefined;
      if (!current) throw new NotFoundError('tenant', tenantId);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw new VersionConflictError('tenant', tenantId, expectedVersion, current.version);
      }
      delete s.tenants[tenantId];
      for (const login of claimedLoginKeys(current)) if (s.logins[login] === tenantId) delete s.logins[login];
    });
  }
}

const LOGIN_TAKEN = 'another tenant already uses this database and user (as its login, or as its read endpoint’s: <database>_ro)';

export class FileClusterStore implements ClusterStore {
  readonly #doc: JsonDocument<StoreState>;
  readonly #now: () => Date;
  constructor(doc: JsonDocument<StoreState>, now: () => Date) {
    this.#doc = doc;
    this.#now = now;
  }

  async create(input: NewClusterInput): Promise<Cluster> {
    const cluster = buildNewCluster(input, this.#now());
    return this.#doc.mutate((s) => {
      if (has(s.clusters, cluster.clusterId)) throw new ConflictError('exists', `cluster ${cluster.clusterId} already exists`);
      s.clusters[cluster.clusterId] = cluster;
      return cluster;
    });
  }

  async get(clusterId: string): Promise<Cluster | undefined> {
    const s = await this.#doc.read();
    return has(s.clusters, clusterId) ? s.clusters[clusterId] : undefined;
  }

  async list(): Promise<Cluster[]> {
    const s = await this.#doc.read();
    return Object.values(s.clusters).sort((a, b) => (a.clusterId < b.clusterId ? -1 : 1));
  }

  async update(clusterId: string, expectedVersion: number, patch: ClusterPatch): Promise<Cluster> {
    const now = this.#now();
    return this.#doc.mutate((s) => {
      const current = has(s.clusters, clusterId) ? s.clusters[clusterId] : undefined;
      if (!current) throw new NotFoundError('cluster', clusterId);
      if (current.version !== expectedVersion) throw new VersionConflictError('cluster', clusterId, expectedVersion, current.version);
      const next = applyClusterPatch(current, patch, now);
      s.clusters[clusterId] = next;
      return next;
    });
  }

  async delete(clusterId: string, expectedVersion?: number): Promise<void> {
    await this.#doc.mutate((s) => {
      const current = has(s.clusters, clusterId) ? s.clusters[clusterId] : undefined;
      if (!current) throw new NotFoundError('cluster', clusterId);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw new VersionConflictError('cluster', clusterId, expectedVersion, current.version);
      }
      delete s.clusters[clusterId];
    });
  }
}

export class FileHeartbeatStore implements HeartbeatStore {
  readonly #doc: JsonDocument<HeartbeatState>;
  constructor(doc: JsonDocument<HeartbeatState>) {
    this.#doc = doc;
  }
  async put(input: PoolerHeartbeatInput): Promise<PoolerHeartbeat> {
    const hb = parseOrThrow(poolerHeartbeatSchema, input, 'heartbeat');
    return this.#doc.mutate((s) => {
      s[hb.poolerId] = hb;
      return hb;
    });
  }
  async get(poolerId: string): Promise<PoolerHeartbeat | undefined> {
    const s = await this.#doc.read();
    return has(s, poolerId) ? s[poolerId] : undefined;
  }
  async list(): Promise<PoolerHeartbeat[]> {
    const s = await this.#doc.read();
    return Object.values(s).sort((a, b) => (a.poolerId < b.poolerId ? -1 : 1));
  }
}

/** Claims are read-modify-write under the file lock: the same one-winner guarantee as DynamoDB's condition. */
export class FileNodeLeaseStore implements NodeLeaseStore {
  readonly #doc: JsonDocument<NodeLeaseState>;
  constructor(doc: JsonDocument<NodeLeaseState>) {
    this.#doc = doc;
  }
  async claim(input: NodeLease, now: number): Promise<boolean> {
    const lease = parseOrThrow(nodeLeaseSchema, input, 'node lease');
    const key = String(lease.nodeId);
    return this.#doc.mutate((s) => {
      const held = has(s, key) ? s[key] : undefined;
      if (held !== undefined && held.holder !== lease.holder && leaseLive(held, now)) return false;
      s[key] = lease;
      return true;
    });
  }
  async release(nodeId: number, holder: string): Promise<void> {
    const key = String(nodeId);
    await this.#doc.mutate((s) => {
      const held = has(s, key) ? s[key] : undefined;
      if (held?.holder === holder) s[key] = { ...held, expiresAtMs: 0 };
    });
  }
  async list(): Promise<NodeLease[]> {
    return Object.values(await this.#doc.read()).sort((a, b) => a.nodeId - b.nodeId);
  }
}

/** `{ row? }`: the budget leases (budget-leases.json), compare-and-set under the file lock. */
const budgetStateSchema = z.object({ row: budgetLeasesSchema.optional() }).strict();
type BudgetState = z.infer<typeof budgetStateSchema>;

export class FileBudgetLeaseStore implements BudgetLeaseStore {
  readonly #doc: JsonDocument<BudgetState>;
  constructor(doc: JsonDocument<BudgetState>) {
    this.#doc = doc;
  }
  async read(): Promise<BudgetLeases | undefined> {
    return (await this.#doc.read()).row;
  }
  async write(input: BudgetLeases): Promise<boolean> {
    const next = parseOrThrow(budgetLeasesSchema, input, 'budget leases');
    return this.#doc.mutate((s) => {
      if ((s.row?.version ?? 0) !== next.version - 1) return false;
      s.row = next;
      return true;
    });
  }
}

export interface FileStores {
  tenants: FileTenantStore;
  clusters: FileClusterStore;
  heartbeats: FileHeartbeatStore;
  nodes: FileNodeLeaseStore;
  budgets: FileBudgetLeaseStore;
}

function parseState<S extends z.ZodType>(schema: S, what: string): (raw: unknown) => z.infer<S> {
  return (raw) => {
    try {
      return parseOrThrow(schema, raw, what);
    } catch (err) {
      if (err instanceof ValidationError) throw new ValidationError(`corrupt local state (${what}): ${err.message}`, err.issues);
      throw err;
    }
  };
}

export async function createFileStores(stateDir: string, opts: FileStoreOptions = {}): Promise<FileStores> {
  await ensureDir(stateDir);
  const now = opts.now ?? (() => new Date());
  const store = new JsonDocument(join(stateDir, 'store.json'), parseState(storeStateSchema, 'store.json'));
  const heartbeats = new JsonDocument(join(stateDir, 'heartbeats.json'), parseState(heartbeatStateSchema, 'heartbeats.json'));
  const nodes = new JsonDocument(join(stateDir, 'node-leases.json'), parseState(nodeLeaseStateSchema, 'node-leases.json'));
  const budgets = new JsonDocument(join(stateDir, 'budget-leases.json'), parseState(budgetStateSchema, 'budget-leases.json'));
  return {
    budgets: new FileBudgetLeaseStore(budgets),
    tenants: new FileTenantStore(store, now),
    clusters: new FileClusterStore(store, now),
    heartbeats: new FileHeartbeatStore(heartbeats),
    nodes: new FileNodeLeaseStore(nodes),
  };
}
