// The environment every Switchyard process gets (functions and poolers alike), from the contract.
import type { StorageOutputs } from './Storage.ts';
import { ENV, POOLER_TAG_ENV_VALUE } from './contract.ts';

export function switchyardEnvironment(storage: StorageOutputs, stage: string): Record<string, string> {
  return {
    [ENV.table]: storage.table.tableName,
    [ENV.kmsKeyId]: storage.key.keyArn,
    [ENV.stage]: stage,
    [ENV.poolerTag]: POOLER_TAG_ENV_VALUE,
  };
}
