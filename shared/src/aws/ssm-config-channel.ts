// ConfigChannel on SSM Parameter Store + SSM Run Command.
//
// Config version: SSM has no conditional or atomic-increment write, so numbers come from an
// atomic counter in DynamoDB (UpdateItem ADD, DynamoDB Developer Guide "Atomic counters"): every
// bump gets a number nobody else gets, then publishes it with PutParameter. Two concurrent bumps
// may publish out of order (7 after 8), but since each value is unique and each is written after
// its change is stored, a pooler that reloads whenever the value differs from what it applied
// never misses a change (see ports/config-channel.ts).
//
// Reload push: SendCommand with the AWS-RunShellScript document to every instance carrying the
// pooler tag AND this stage's tag (several tag targets are ANDed: Systems Manager user guide,
// "Targeting managed nodes" → "Targeting using tags"), all at once (MaxConcurrency 100%), not
// stopping on errors (MaxErrors 100%): an instance that misses the push still picks the change up
// from its version poll. The stage tag matters twice: the control plane's IAM policy allows
// SendCommand only on instances with both tags (stacks/permissions.ts), and one stage must never
// reload another stage's fleet in a shared account.
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { clusterTargetsSchema, type ClusterTargets } from '../domain/cluster-targets.ts';
import { parseOrThrow } from '../domain/parse.ts';
import type { ConfigChannel, ReloadPushResult } from '../ports/config-channel.ts';
import { keys } from './dynamo-keys.ts';
import { clusterTargetsParameter, configVersionParameter, type PoolerTag } from './env.ts';

export const RELOAD_COMMAND = 'systemctl reload switchyard';
export const RELOAD_DOCUMENT = 'AWS-RunShellScript';
/** Tag every pooler instance carries with its stage (stacks/contract.ts STAGE_TAG_KEY; the stacks set it). */
export const STAGE_TAG_KEY = 'switchyard:stage';

export interface SsmConfigChannelOptions {
  ssm: SSMClient;
  doc: DynamoDBDocumentClient;
  table: string;
  stage: string;
  poolerTag: PoolerTag;
}

function isParameterNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ParameterNotFound';
}

export class SsmConfigChannel implements ConfigChannel {
  readonly #o: SsmConfigChannelOptions;
  constructor(opts: SsmConfigChannelOptions) {
    this.#o = opts;
  }

  async #get(name: string): Promise<string | undefined> {
    try {
      const res = await this.#o.ssm.send(new GetParameterCommand({ Name: name }));
      return res.Parameter?.Value;
    } catch (err) {
      if (isParameterNotFound(err)) return undefined;
      throw err;
    }
  }

  async #put(name: string, value: string, description: string): Promise<void> {
    await this.#o.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true, Tier: 'Standard', Description: description }));
  }

  async publishClusterTargets(clusterId: string, targets: ClusterTargets): Promise<boolean> {
    const t = parseOrThrow(clusterTargetsSchema, targets, 'cluster targets');
    // Best-effort guard (read then write): the cluster row's optimistic lock already orders
    // writers; this only stops a writer that stalled between its row update and this publish.
    const current = await this.getClusterTargets(clusterId);
    if (current && current.epoch > t.epoch) return false;
    await this.#put(clusterTargetsParameter(this.#o.stage, clusterId), JSON.stringify(t), `Switchyard targets of cluster ${clusterId}`);
    return true;
  }

  async getClusterTargets(clusterId: string): Promise<ClusterTargets | undefined> {
    const v = await this.#get(clusterTargetsParameter(this.#o.stage, clusterId));
    return v === undefined ? undefined : parseOrThrow(clusterTargetsSchema, JSON.parse(v), 'published cluster targets');
  }

  async deleteClusterTargets(clusterId: string): Promise<void> {
    try {
      await this.#o.ssm.send(new DeleteParameterCommand({ Name: clusterTargetsParameter(this.#o.stage, clusterId) }));
    } catch (err) {
      if (!isParameterNotFound(err)) throw err;
    }
  }

  async bumpConfigVersion(): Promise<number> {
    const res = await this.#o.doc.send(
      new UpdateCommand({
        TableName: this.#o.table,
        Key: keys.configCounter(),
        UpdateExpression: 'ADD #n :one SET #type = :type',
        ExpressionAttributeNames: { '#n': 'n', '#type': 'type' },
        ExpressionAttributeValues: { ':one': 1, ':type': 'config-counter' },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const n = res.Attributes?.n;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error('config version counter returned no number');
    await this.#put(configVersionParameter(this.#o.stage), String(n), 'Switchyard fleet config version');
    return n;
  }

  async catchUpConfigVersion(): Promise<number | undefined> {
    // Strongly consistent: an eventually consistent read could miss the allocation we look for.
    const res = await this.#o.doc.send(new GetCommand({ TableName: this.#o.table, Key: keys.configCounter(), ConsistentRead: true }));
    const n: unknown = res.Item?.n;
    if (n === undefined) return undefined;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error('config version counter holds no number');
    // A bump in flight (allocated, not yet published) looks the same; publishing its number early
    // is harmless: its change is already stored (ordering contract), and the number is unique.
    if (n <= (await this.getConfigVersion())) return undefined;
    await this.#put(configVersionParameter(this.#o.stage), String(n), 'Switchyard fleet config version');
    return n;
  }

  async getConfigVersion(): Promise<number> {
    const v = await this.#get(configVersionParameter(this.#o.stage));
    if (v === undefined) return 0;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${configVersionParameter(this.#o.stage)} does not hold a version number`);
    return n;
  }

  async pushReload(): Promise<ReloadPushResult> {
    const { key, value } = this.#o.poolerTag;
    const res = await this.#o.ssm.send(
      new SendCommandCommand({
        DocumentName: RELOAD_DOCUMENT,
        Parameters: { commands: [RELOAD_COMMAND] },
        Targets: [
          { Key: `tag:${key}`, Values: [value] },
          { Key: `tag:${STAGE_TAG_KEY}`, Values: [this.#o.stage] },
        ],
        MaxConcurrency: '100%',
        MaxErrors: '100%',
        TimeoutSeconds: 60,
        Comment: `switchyard ${this.#o.stage}: reload config`,
      }),
    );
    const commandId = res.Command?.CommandId;
    return commandId ? { commandId } : {};
  }
}
