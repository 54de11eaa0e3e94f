// DynamoDB adapters of TenantStore / ClusterStore / HeartbeatStore on the single table described
// in dynamo-keys.ts. Uniqueness of the client login and idempotency of creates are enforced by
// writing the guard items in the same TransactWriteItems as the tenant (all-or-nothing, DynamoDB
// Developer Guide "Amazon DynamoDB Transactions"); optimistic locking is a ConditionExpression on
// `version`. After a failed condition we re-read the row to report NotFound vs VersionConflict.
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { clusterSchema, type Cluster, type ClusterPatch, type NewClusterInput } from '../domain/cluster.ts';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../domain/errors.ts';
import { poolerHeartbeatSchema, type PoolerHeartbeat, type PoolerHeartbeatInput } from '../domain/heartbeat.ts';
import { applyClusterPatch, applyTenantPatch, buildNewCluster, buildNewTenant } from '../domain/lifecycle.ts';
import { pageLimit } from '../domain/paging.ts';
import { parseOrThrow } from '../domain/parse.ts';
import { claimedLoginKeys, tenantSchema, type NewTenantInput, type Tenant, type TenantPatch } from '../domain/tenant.ts';
import type { ClusterStore, CreateOptions, HeartbeatStore, ListOptions, Page, TenantStore } from '../ports/store.ts';
import { failedConditions, isConditionalCheckFailed, isOnlyConditionFailures, isTransactionCanceled } from './dynamo-errors.ts';
import { GSI_BY_CLUSTER, byClusterKeys, keys, stripLayout, type ItemKey } from './dynamo-keys.ts';

/** Idempotency keys are honoured for a day (and expire via TTL). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** Heartbeats of poolers gone for a week disappear via TTL. */
export const HEARTBEAT_TTL_SECONDS = 7 * 24 * 60 * 60;
/** Optimistic retries when a row changes between our read and our conditional write. */
const MAX_ATTEMPTS = 5;

export interface DynamoStoreOptions {
  doc: DynamoDBDocumentClient;
  table: string;
  now?: () => Date;
}

type Item = Record<string, unknown>;

/**
 * Every item of one kind (sort key `sk`), page after page. Clusters and heartbeats are few, so a
 * filtered scan beats a second index; ConsistentRead where a just-written row must show.
 */
async function scanBySortKey(doc: DynamoDBDocumentClient, table: string, sk: string, consistentRead: boolean): Promise<Item[]> {
  const out: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await doc.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'sk = :sk',
        ExpressionAttributeValues: { ':sk': sk },
        ...(consistentRead ? { ConsistentRead: true } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    out.push(...((res.Items ?? []) as Item[]));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

function tenantItem(t: Tenant): Item {
  return {
    ...keys.tenant(t.tenantId),
    type: 'tenant',
    ...(t.destination.clusterId !== undefined ? byClusterKeys(t.destination.clusterId, t.tenantId) : {}),
    ...t,
  };
}

function parseTenant(item: Item): Tenant {
  return parseOrThrow(tenantSchema, stripLayout(item), 'stored tenant');
}

/** The guard items of every login the tenant claims: its own, and its read endpoint's when on. */
function loginGuardItems(t: Tenant): Item[] {
  return claimedLoginKeys(t).map((k) => ({ ...keys.loginGuard(k), type: 'login', tenantId: t.tenantId }));
}

const LOGIN_TAKEN = 'another tenant already uses this database and user (as its login, or as its read endpoint’s: <database>_ro)';

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

const cursorSchema = z.object({ pk: z.string().startsWith('TENANT#'), sk: z.literal('TENANT') }).strict();

function encodeCursor(k: ItemKey): string {
  return Buffer.from(JSON.stringify({ pk: k.pk, sk: k.sk })).toString('base64url');
}

function decodeCursor(s: string): ItemKey {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor returned by list' }]);
  }
}

export class DynamoTenantStore implements TenantStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;
  constructor(opts: DynamoStoreOptions) {
    this.#doc = opts.doc;
    this.#table = opts.table;
    this.#now = opts.now ?? (() => new Date());
  }

  async create(input: NewTenantInput, opts: CreateOptions = {}): Promise<Tenant> {
    const now = this.#now();
    const tenant = buildNewTenant(input, now);
    const key = opts.idempotencyKey;
    // First attempt guards the idempotency key; if it turns out to be our own key for a tenant
    // that has since been deleted, the second attempt overwrites the stale key record.
    const guards = loginGuardItems(tenant);
    /** Index of the idempotency record in the transaction (after the tenant row and the login guards). */
    const idemIndex = 1 + guards.length;
    for (let attempt = 0; attempt < 2; attempt++) {
      const guardKey = key !== undefined && attempt === 0;
      const items = [
        {
          Put: {
            TableName: this.#table,
            Item: tenantItem(tenant),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        ...guards.map((Item) => ({ Put: { TableName: this.#table, Item, ConditionExpression: 'attribute_not_exists(pk)' } })),
        ...(key !== undefined
          ? [
              {
                Put: {
                  TableName: this.#table,
                  Item: { ...keys.idempotency(key), type: 'idempotency', tenantId: tenant.tenantId, ttl: seconds(now) + IDEMPOTENCY_TTL_SECONDS },
                  ...(guardKey
                    ? {
                        // An expired record (TTL deletion lags by up to days) does not count.
                        ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
                        ExpressionAttributeNames: { '#ttl': 'ttl' },
                        ExpressionAttributeValues: { ':now': seconds(now) },
                      }
                    : {}),
                },
              },
            ]
          : []),
      ];
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
        return tenant;
      } catch (err) {
        if (!isTransactionCanceled(err) || !isOnlyConditionFailures(err)) throw err;
        const failed = failedConditions(err);
        if (key !== undefined && (failed === undefined || failed.has(idemIndex))) {
          const rec = await this.#getItem(keys.idempotency(key));
          const live = rec && typeof rec.ttl === 'number' && rec.ttl >= seconds(now);
          if (rec && live) {
            if (rec.tenantId !== tenant.tenantId) {
              throw new ConflictError('idempotency-key-reused', 'idempotency key was used for another tenant');
            }
            const existing = await this.get(tenant.tenantId);
            if (existing) return existing;
            if (attempt === 0) continue;
          }
        }
        if (failed === undefined || failed.has(0)) {
          if (await this.#getItem(keys.tenant(tenant.tenantId))) throw new ConflictError('exists', `tenant ${tenant.tenantId} already exists`);
        }
        if (failed === undefined || guards.some((_, i) => failed.has(1 + i))) {
          throw new ConflictError('login-taken', LOGIN_TAKEN);
        }
        throw err;
      }
    }
    throw new Error('unreachable: idempotent create retried twice');
  }

  async get(tenantId: string): Promise<Tenant | undefined> {
    const item = await this.#getItem(keys.tenant(tenantId));
    return item ? parseTenant(item) : undefined;
  }

  async list(opts: ListOptions = {}): Promise<Page<Tenant>> {
    const limit = pageLimit(opts.limit);
    let start: ItemKey | undefined = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
    const items: Tenant[] = [];
    // The table also holds logins, clusters, heartbeats: a filtered Scan can return short pages,
    // so keep scanning until the page is full. Any item's key is a valid ExclusiveStartKey, which
    // lets the cursor point at the last tenant returned even when we stopped mid-page.
    for (;;) {
      const res = await this.#doc.send(
        new ScanCommand({
          TableName: this.#table,
          FilterExpression: 'sk = :sk',
          ExpressionAttributeValues: { ':sk': 'TENANT' },
          ConsistentRead: true,
          Limit: Math.max(limit * 3, 50),
          ...(start ? { ExclusiveStartKey: { pk: start.pk, sk: start.sk } } : {}),
        }),
      );
      const found = (res.Items ?? []).map(parseTenant);
      for (const [i, t] of found.entries()) {
        items.push(t);
        if (items.length === limit) {
          const more = i < found.length - 1 || res.LastEvaluatedKey !== undefined;
          return more ? { items, cursor: encodeCursor(keys.tenant(t.tenantId)) } : { items };
        }
      }
      if (!res.LastEvaluatedKey) return { items };
      start = { pk: String(res.LastEvaluatedKey.pk), sk: String(res.LastEvaluatedKey.sk) };
    }
  }

  async listByCluster(clusterId: string): Promise<Tenant[]> {
    const out: Tenant[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: GSI_BY_CLUSTER,
          KeyConditionExpression: 'gsi1pk = :c',
          ExpressionAttributeValues: { ':c': byClusterKeys(clusterId, '').gsi1pk },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of res.Items ?? []) {
        // With a KEYS_ONLY/INCLUDE projection the index lacks the entity; read it from the table.
        if (item.version === undefined) {
          const tenantId = String(item.pk).slice('TENANT#'.length);
          const t = await this.get(tenantId);
          if (t) out.push(t);
        } else {
          out.push(parseTenant(item));
        }
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async update(tenantId: string, expectedVersion: number, patch: TenantPatch): Promise<Tenant> {
    const current = await this.get(tenantId);
    if (!current) throw new NotFoundError('tenant', tenantId);
    if (current.version !== expectedVersion) throw new VersionConflictError('tenant', tenantId, expectedVersion, current.version);
    const next = applyTenantPatch(current, patch, this.#now());
    const put = {
      TableName: this.#table,
      Item: tenantItem(next),
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': expectedVersion },
    };
    const oldLogins = claimedLoginKeys(current);
    const newLogins = claimedLoginKeys(next);
    const removed = oldLogins.filter((k) => !newLogins.includes(k));
    const added = loginGuardItems(next).filter((g) => !oldLogins.some((k) => keys.loginGuard(k).pk === g.pk));
    try {
      if (removed.length === 0 && added.length === 0) {
        await this.#doc.send(new PutCommand(put));
      } else {
        await this.#doc.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: put },
              ...removed.map((k) => ({
                Delete: {
                  TableName: this.#table,
                  Key: keys.loginGuard(k),
                  ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :t',
                  ExpressionAttributeValues: { ':t': tenantId },
                },
              })),
              ...added.map((Item) => ({ Put: { TableName: this.#table, Item, ConditionExpression: 'attribute_not_exists(pk)' } })),
            ],
          }),
        );
      }
      return next;
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw await this.#lockFailure(tenantId, expectedVersion);
      if (isTransactionCanceled(err) && isOnlyConditionFailures(err)) {
        const failed = failedConditions(err);
        if (failed === undefined || failed.has(0)) {
          const e = await this.#lockFailure(tenantId, expectedVersion);
          if (failed !== undefined || !(e instanceof VersionConflictError && e.actualVersion === expectedVersion)) throw e;
        }
        throw new ConflictError('login-taken', LOGIN_TAKEN);
      }
      throw err;
    }
  }

  async delete(tenantId: string, expectedVersion?: number): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.get(tenantId);
      if (!current) throw new NotFoundError('tenant', tenantId);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw new VersionConflictError('tenant', tenantId, expectedVersion, current.version);
      }
      try {
        await this.#doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                // Conditioned on the version we read, so the login guard we delete is the current one.
                Delete: {
                  TableName: this.#table,
                  Key: keys.tenant(tenantId),
                  ConditionExpression: '#v = :v',
                  ExpressionAttributeNames: { '#v': 'version' },
                  ExpressionAttributeValues: { ':v': current.version },
                },
              },
              ...claimedLoginKeys(current).map((k) => ({
                Delete: {
                  TableName: this.#table,
                  Key: keys.loginGuard(k),
                  ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :t',
                  ExpressionAttributeValues: { ':t': tenantId },
                },
              })),
            ],
          }),
        );
        return;
      } catch (err) {
        if (!isTransactionCanceled(err) || !isOnlyConditionFailures(err)) throw err;
        // The row changed under us: loop re-reads it (and applies expectedVersion if given).
      }
    }
    throw new VersionConflictError('tenant', tenantId, expectedVersion ?? -1);
  }

  async #getItem(key: ItemKey): Promise<Item | undefined> {
    const res = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }));
    return res.Item;
  }

  async #lockFailure(tenantId: string, expectedVersion: number): Promise<Error> {
    const now = await this.get(tenantId);
    return now ? new VersionConflictError('tenant', tenantId, expectedVersion, now.version) : new NotFoundError('tenant', tenantId);
  }
}

export class DynamoClusterStore implements ClusterStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;
  constructor(opts: DynamoStoreOptions) {
    this.#doc = opts.doc;
    this.#table = opts.table;
    this.#now = opts.now ?? (() => new Date());
  }

  async create(input: NewClusterInput): Promise<Cluster> {
    const cluster = buildNewCluster(input, this.#now());
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...keys.cluster(cluster.clusterId), type: 'cluster', ...cluster },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return cluster;
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new ConflictError('exists', `cluster ${cluster.clusterId} already exists`);
      throw err;
    }
  }

  async get(clusterId: string): Promise<Cluster | undefined> {
    const res = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: keys.cluster(clusterId), ConsistentRead: true }));
    return res.Item ? parseOrThrow(clusterSchema, stripLayout(res.Item), 'stored cluster') : undefined;
  }

  async list(): Promise<Cluster[]> {
    const out: Cluster[] = [];
    for (const item of await scanBySortKey(this.#doc, this.#table, 'CLUSTER', true)) {
      out.push(parseOrThrow(clusterSchema, stripLayout(item), 'stored cluster'));
    }
    return out.sort((a, b) => (a.clusterId < b.clusterId ? -1 : 1));
  }

  async update(clusterId: string, expectedVersion: number, patch: ClusterPatch): Promise<Cluster> {
    const current = await this.get(clusterId);
    if (!current) throw new NotFoundError('cluster', clusterId);
    if (current.version !== expectedVersion) throw new VersionConflictError('cluster', clusterId, expectedVersion, current.version);
    const next = applyClusterPatch(current, patch, this.#now());
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...keys.cluster(clusterId), type: 'cluster', ...next },
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': expectedVersion },
        }),
      );
      return next;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const now = await this.get(clusterId);
      throw now ? new VersionConflictError('cluster', clusterId, expectedVersion, now.version) : new NotFoundError('cluster', clusterId);
    }
  }

  async delete(clusterId: string, expectedVersion?: number): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: keys.cluster(clusterId),
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_exists(pk)' }
            : {
                ConditionExpression: '#v = :v',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': expectedVersion },
              }),
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const now = await this.get(clusterId);
      throw now ? new VersionConflictError('cluster', clusterId, expectedVersion ?? -1, now.version) : new NotFoundError('cluster', clusterId);
    }
  }
}

export class DynamoHeartbeatStore implements HeartbeatStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  constructor(opts: DynamoStoreOptions) {
    this.#doc = opts.doc;
    this.#table = opts.table;
  }

  async put(input: PoolerHeartbeatInput): Promise<PoolerHeartbeat> {
    const hb = parseOrThrow(poolerHeartbeatSchema, input, 'heartbeat');
    const ttl = Math.floor(Date.parse(hb.lastSeen) / 1000) + HEARTBEAT_TTL_SECONDS;
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: { ...keys.pooler(hb.poolerId), type: 'pooler', ttl, ...hb } }));
    return hb;
  }

  async get(poolerId: string): Promise<PoolerHeartbeat | undefined> {
    const res = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: keys.pooler(poolerId) }));
    return res.Item ? parseOrThrow(poolerHeartbeatSchema, stripLayout(res.Item), 'stored heartbeat') : undefined;
  }

  async list(): Promise<PoolerHeartbeat[]> {
    const out: PoolerHeartbeat[] = [];
    for (const item of await scanBySortKey(this.#doc, this.#table, 'POOLER', false)) {
      out.push(parseOrThrow(poolerHeartbeatSchema, stripLayout(item), 'stored heartbeat'));
    }
    return out.sort((a, b) => (a.poolerId < b.poolerId ? -1 : 1));
  }
}
