// ClusterAdminSecrets on AWS Secrets Manager: GetSecretValue on the secret's ARN (AWSCURRENT) and
// the RDS-managed JSON shape `{"username": "...", "password": "..."}` (RDS User Guide, "Password
// management with Amazon RDS and AWS Secrets Manager"; secrets RDS creates are named
// `rds!cluster-<uuid>` / `rds!db-<uuid>`). Secrets made by hand in the console's "Credentials for
// Amazon RDS database" format carry more keys (engine, host, port, dbname); they are ignored.
//
// The request goes to the secret's own region, taken from its ARN: a cluster in another region
// keeps its secret there, and a client only reaches its own region's endpoint.
//
// Nothing is cached, on purpose. RDS rotates a managed master password (every 7 days by default,
// and at once on "rotate secret now"), changing the database and the secret together; a cached
// copy would turn every provisioning call after a rotation into an authentication failure until it
// expired, indistinguishable from a wrong secret. The calls are rare (one per provisioning, purge or
// metrics request; GetSecretValue allows 10,000 requests per second), so a fresh read costs
// nothing that matters, and the password lives only as long as the request that needs it.
//
// Ownership: before reading the value, DescribeSecret must show the tag RDS puts on the secrets it
// manages, `aws:rds:primaryDBClusterArn` (Aurora) or `aws:rds:primaryDBInstanceArn` (an instance),
// naming the cluster's own RDS resource. Tag keys beginning with `aws:` are reserved for AWS and
// cannot be set by users, so the tag proves the secret is that resource's master password, and a
// caller who registers a cluster cannot borrow another database's master secret.
//
// Errors are AdminSecretError with a reason; the message names the ARN and what to fix, never any
// part of the value (JSON.parse's own message quotes the input, so it is not passed on).
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { pgNameSchema } from '../domain/common.ts';
import { AdminSecretError, type AdminCredentials, type AdminSecretFailure, type ClusterAdminSecrets, type SecretOwner } from '../ports/cluster-admin-secrets.ts';

/** arn:partition:secretsmanager:region:account:secret:name (Service Authorization Reference, AWS Secrets Manager). */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;

/** The region of a Secrets Manager secret ARN, or undefined when it is not one. */
export function secretRegion(secretArn: string): string | undefined {
  return SECRET_ARN.exec(secretArn)?.[1];
}

/** The tag RDS sets on the master user secret of a cluster / an instance (keys under `aws:` are AWS's only). */
export const OWNER_TAG: Record<SecretOwner['resource'], string> = {
  cluster: 'aws:rds:primaryDBClusterArn',
  db: 'aws:rds:primaryDBInstanceArn',
};

/** Does the tag value (an RDS ARN) name `owner`? RDS identifiers compare case-insensitively. */
export function ownerTagMatches(value: string | undefined, owner: SecretOwner): boolean {
  const m = value === undefined ? null : /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:(cluster|db):(.+)$/.exec(value);
  return m !== null && m[1] === owner.resource && m[2]!.toLowerCase() === owner.identifier.toLowerCase();
}

/** The RDS-managed shape; other keys are allowed and ignored. */
export const rdsSecretSchema = z.looseObject({
  username: pgNameSchema,
  password: z.string().min(1),
});

/**
 * Parses a SecretString into credentials. Throws AdminSecretError('invalid') naming the missing or
 * malformed fields only — never a value.
 */
export function parseRdsSecret(secretArn: string, secretString: string): AdminCredentials {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new AdminSecretError('invalid', secretArn, `secret ${secretArn} is not JSON; expected {"username": "...", "password": "..."} as RDS stores it`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new AdminSecretError('invalid', secretArn, `secret ${secretArn} is not a JSON object; expected {"username": "...", "password": "..."} as RDS stores it`);
  }
  const r = rdsSecretSchema.safeParse(json);
  if (!r.success) {
    const fields = [...new Set(r.error.issues.map((i) => String(i.path[0] ?? '')))].filter(Boolean).sort();
    throw new AdminSecretError(
      'invalid',
      secretArn,
      `secret ${secretArn} has no usable ${fields.map((f) => `"${f}"`).join(' and ')} (expected {"username": "...", "password": "..."}: non-empty strings, username at most 63 characters)`,
    );
  }
  return { user: r.data.username, password: r.data.password };
}

/** The AWS error names of GetSecretValue (Secrets Manager API Reference) and common errors, by reason. */
const FAILURES: Record<string, AdminSecretFailure> = {
  ResourceNotFoundException: 'not-found',
  // Also "marked for deletion" and a secret with no AWSCURRENT version.
  InvalidRequestException: 'not-found',
  InvalidParameterException: 'not-found',
  AccessDeniedException: 'denied',
  // Secrets Manager could not decrypt with the secret's KMS key: almost always the key policy (or
  // our role's kms:Decrypt) does not let us use it through Secrets Manager.
  DecryptionFailure: 'denied',
};

function failureMessage(reason: AdminSecretFailure, arn: string, awsError: string): string {
  switch (reason) {
    case 'not-found':
      return `secret ${arn} does not exist, is scheduled for deletion, or has no current value (${awsError})`;
    case 'denied':
      return (
        `the control plane may not read secret ${arn} (${awsError}): its role may call secretsmanager:DescribeSecret and GetSecretValue only on the RDS-managed ` +
        'master secrets (names starting with "rds!") of the RDS clusters and instances in the stage config, and a secret under a customer managed KMS key also needs that key listed in the stage config (adminSecretKmsKeyArn)'
      );
    case 'invalid':
    case 'not-owned':
      return `secret ${arn} cannot be used (${awsError})`;
    case 'unavailable':
      return `Secrets Manager did not answer for secret ${arn} (${awsError}); retry`;
  }
}

/** One Secrets Manager call; its failure as an AdminSecretError with a reason. */
async function call<T>(secretArn: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const name = err instanceof Error ? err.name : 'UnknownError';
    const reason = FAILURES[name] ?? 'unavailable';
    throw new AdminSecretError(reason, secretArn, failureMessage(reason, secretArn, name), name);
  }
}

export interface SecretsManagerAdminSecretsOptions {
  /** Makes the client for a region (default: new SecretsManagerClient({ region })). */
  clientForRegion?: (region: string) => SecretsManagerClient;
}

export class SecretsManagerAdminSecrets implements ClusterAdminSecrets {
  readonly #clientForRegion: (region: string) => SecretsManagerClient;
  readonly #clients = new Map<string, SecretsManagerClient>();
  constructor(opts: SecretsManagerAdminSecretsOptions = {}) {
    this.#clientForRegion = opts.clientForRegion ?? ((region) => new SecretsManagerClient({ region }));
  }

  async read(secretArn: string, owner: SecretOwner): Promise<AdminCredentials> {
    const region = secretRegion(secretArn);
    if (!region) throw new AdminSecretError('not-found', secretArn, `${secretArn} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`);
    const client = this.#client(region);
    const meta = await call(secretArn, () => client.send(new DescribeSecretCommand({ SecretId: secretArn })));
    const key = OWNER_TAG[owner.resource];
    if (!ownerTagMatches(meta.Tags?.find((t) => t.Key === key)?.Value, owner)) {
      throw new AdminSecretError(
        'not-owned',
        secretArn,
        `secret ${secretArn} is not the master user secret RDS manages for ${owner.resource === 'cluster' ? 'DB cluster' : 'DB instance'} ${owner.identifier} (no ${key} tag naming it)`,
      );
    }
    const res = await call(secretArn, () => client.send(new GetSecretValueCommand({ SecretId: secretArn })));
    if (res.SecretString === undefined) {
      const what = res.SecretBinary !== undefined ? 'holds binary data' : 'has no value';
      throw new AdminSecretError('invalid', secretArn, `secret ${secretArn} ${what}; expected the JSON text {"username": "...", "password": "..."} as RDS stores it`);
    }
    return parseRdsSecret(secretArn, res.SecretString);
  }

  /** Releases the regional clients. */
  destroy(): void {
    for (const c of this.#clients.values()) c.destroy();
    this.#clients.clear();
  }

  #client(region: string): SecretsManagerClient {
    let c = this.#clients.get(region);
    if (!c) {
      c = this.#clientForRegion(region);
      this.#clients.set(region, c);
    }
    return c;
  }
}
