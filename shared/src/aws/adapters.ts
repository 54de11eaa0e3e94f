// createAwsAdapters(env): every port on AWS, from the environment described in env.ts. Clients
// take region and credentials from the usual SDK chain; AWS_ENDPOINT_URL (read natively by SDK v3)
// points them all at an emulator in tests.
import { RDSClient } from '@aws-sdk/client-rds';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PgTopology } from '../local/pg-topology.ts';
import type { Adapters } from '../ports/adapters.ts';
import type { AwsEnv } from './env.ts';
import { RdsTopology } from './rds-topology.ts';
import { SecretsManagerAdminSecrets } from './secrets-manager-admin-secrets.ts';
import { BOUNDED_REQUESTS, createAwsStoreAdapters, type AwsStoreClients } from './store-adapters.ts';

// The stores, KMS and SSM (with the bound on every SDK call) live in store-adapters.ts, which a
// pooler loads on its own; re-exported for the control plane's existing imports.
export { BOUNDED_REQUESTS, documentClient } from './store-adapters.ts';

export interface AwsClients extends AwsStoreClients {
  rds: RDSClient;
}

export interface AwsAdaptersOptions {
  /** Injected clients (tests); defaults are created from the SDK's environment. */
  clients?: Partial<AwsClients>;
  /**
   * Secrets Manager clients, one per region (a cluster admin secret is read in its own region,
   * from its ARN). Default: new SecretsManagerClient({ region }).
   */
  secretsManagerForRegion?: (region: string) => SecretsManagerClient;
  now?: () => Date;
}

export function createAwsAdapters(envOrConfig: NodeJS.ProcessEnv | AwsEnv = process.env, opts: AwsAdaptersOptions = {}): Adapters {
  const stores = createAwsStoreAdapters(envOrConfig, opts);
  const rds = opts.clients?.rds ?? new RDSClient(BOUNDED_REQUESTS);
  const adminSecrets = new SecretsManagerAdminSecrets(opts.secretsManagerForRegion ? { clientForRegion: opts.secretsManagerForRegion } : {});
  const { clients: _clients, doc: _doc, ...ports } = stores;
  return {
    ...ports,
    topology: new RdsTopology({ rds, staticTopology: new PgTopology({ secrets: stores.secrets }) }),
    adminSecrets,
    close: async () => {
      await stores.close();
      rds.destroy();
      adminSecrets.destroy();
    },
  };
}
