// Reads a cluster's admin credentials from a secret store. A cluster record's `admin` is either our
// own ciphertext (SecretBox) or `{ secretArn }` (domain/cluster.ts): the second is what RDS and
// Aurora create when the master password is managed in AWS Secrets Manager
// (ManageMasterUserPassword; RDS User Guide, "Password management with Amazon RDS and AWS Secrets
// Manager"): a secret named `rds!cluster-<uuid>` or `rds!db-<uuid>` whose SecretString is the JSON
// `{"username": "...", "password": "..."}`.
//
// AWS: Secrets Manager GetSecretValue (shared/src/aws/secrets-manager-admin-secrets.ts). Local mode
// has no implementation (Adapters.adminSecrets is absent), and the API says so with 409.
//
// The password is returned to the caller and nowhere else: it is never logged, never part of an
// error message, never cached beyond the call (see the adapter for why).

export interface AdminCredentials {
  user: string;
  password: string;
}

/**
 * The RDS resource a master user secret must belong to: `cluster` (Aurora, DBClusterIdentifier) or
 * `db` (an RDS instance, DBInstanceIdentifier).
 */
export interface SecretOwner {
  resource: 'cluster' | 'db';
  identifier: string;
}

export interface ClusterAdminSecrets {
  /**
   * The secret's current value (AWSCURRENT), once the secret has shown that RDS manages it for
   * `owner` (see the adapter: the `aws:rds:primary…Arn` tag only RDS can set). Without that check
   * any caller able to register a cluster could name any RDS master secret of the account and have
   * its password used against a cluster of their choosing. AdminSecretError on any failure.
   */
  read(secretArn: string, owner: SecretOwner): Promise<AdminCredentials>;
}

/**
 * Why a secret could not be used:
 * - `not-found`: no such secret, it is scheduled for deletion, or the ARN names no secret;
 * - `denied`: our role may not read it (IAM, the secret's resource policy, or its KMS key);
 * - `invalid`: it exists but does not hold `{"username", "password"}` as JSON text;
 * - `not-owned`: it is not the master user secret RDS manages for this cluster's RDS resource;
 * - `unavailable`: Secrets Manager (or KMS behind it) failed or throttled; retrying may help.
 */
export type AdminSecretFailure = 'not-found' | 'denied' | 'invalid' | 'not-owned' | 'unavailable';

/** Messages name the secret ARN and the reason; never any part of the secret's value. */
export class AdminSecretError extends Error {
  readonly code = 'ADMIN_SECRET' as const;
  readonly reason: AdminSecretFailure;
  readonly secretArn: string;
  /** The AWS error name behind it, when there was one (for logs). */
  readonly awsError: string | undefined;
  constructor(reason: AdminSecretFailure, secretArn: string, message: string, awsError?: string) {
    super(message);
    this.name = 'AdminSecretError';
    this.reason = reason;
    this.secretArn = secretArn;
    this.awsError = awsError;
  }
}
