// The DynamoDB NodeLeaseStore: one row per node id in one partition (dynamo-keys.ts), so listing
// every lease is a single Query, and a claim is a conditional PutItem — DynamoDB evaluates the
// condition and writes atomically per item (Developer Guide, "Condition expressions"), so of two
// poolers claiming one free id at once exactly one wins. Release is an UpdateItem (the pooler's
// role may put and update its rows, not delete them) that ends the lease at once.
import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { nodeLeaseSchema, type NodeLease } from '../domain/node-lease.ts';
import { parseOrThrow } from '../domain/parse.ts';
import type { NodeLeaseStore } from '../ports/store.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';
import { HEARTBEAT_TTL_SECONDS } from './dynamo-store.ts';
import { keys, NODE_LEASES_PK, stripLayout } from './dynamo-keys.ts';

export interface DynamoNodeLeaseStoreOptions {
  doc: DynamoDBDocumentClient;
  table: string;
}

export class DynamoNodeLeaseStore implements NodeLeaseStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  constructor(opts: DynamoNodeLeaseStoreOptions) {
    this.#doc = opts.doc;
    this.#table = opts.table;
  }

  async claim(input: NodeLease, now: number): Promise<boolean> {
    const lease = parseOrThrow(nodeLeaseSchema, input, 'node lease');
    // Rows of long-gone poolers disappear through TTL like their heartbeats; nothing depends on it.
    const ttl = Math.floor(lease.expiresAtMs / 1000) + HEARTBEAT_TTL_SECONDS;
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...keys.nodeLease(lease.nodeId), type: 'node', ttl, ...lease },
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR expiresAtMs <= :now',
          ExpressionAttributeValues: { ':holder': lease.holder, ':now': now },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async release(nodeId: number, holder: string): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keys.nodeLease(nodeId),
          UpdateExpression: 'SET expiresAtMs = :zero',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':zero': 0, ':holder': holder },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  async list(): Promise<NodeLease[]> {
    const out: NodeLease[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': NODE_LEASES_PK },
          // A lease just claimed elsewhere must show: a stale read could route to a dead peer.
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of res.Items ?? []) out.push(parseOrThrow(nodeLeaseSchema, stripLayout(item), 'stored node lease'));
      start = res.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.nodeId - b.nodeId);
  }
}
