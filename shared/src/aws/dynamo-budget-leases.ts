// The DynamoDB BudgetLeaseStore: the fleet's budget leases are ONE item (dynamo-keys.ts), written
// with a conditional PutItem on its version — DynamoDB checks the condition and writes atomically
// per item (Developer Guide, "Condition expressions"), so of two poolers writing from the same
// version exactly one wins and the other re-reads. The partition key starts with POOLER#, so the
// instance role's heartbeat write condition (dynamodb:LeadingKeys POOLER#*) already covers it.
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { budgetLeasesSchema, type BudgetLeases } from '../domain/budget.ts';
import { parseOrThrow } from '../domain/parse.ts';
import type { BudgetLeaseStore } from '../ports/store.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';
import { keys, stripLayout } from './dynamo-keys.ts';

export interface DynamoBudgetLeaseStoreOptions {
  doc: DynamoDBDocumentClient;
  table: string;
}

export class DynamoBudgetLeaseStore implements BudgetLeaseStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  constructor(opts: DynamoBudgetLeaseStoreOptions) {
    this.#doc = opts.doc;
    this.#table = opts.table;
  }

  async read(): Promise<BudgetLeases | undefined> {
    // Consistent: a stale row would hide another pooler's ack or join.
    const res = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: keys.budgetLeases(), ConsistentRead: true }));
    return res.Item ? parseOrThrow(budgetLeasesSchema, stripLayout(res.Item), 'stored budget leases') : undefined;
  }

  async write(input: BudgetLeases): Promise<boolean> {
    const next = parseOrThrow(budgetLeasesSchema, input, 'budget leases');
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...keys.budgetLeases(), type: 'budget', ...next },
          ...(next.version === 1
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': next.version - 1 } }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}
