import {
  DecryptionFailure,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AdminSecretError, type SecretOwner } from '../ports/cluster-admin-secrets.ts';
import { SecretsManagerAdminSecrets } from './secrets-manager-admin-secrets.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-0b6f1c2e-1d2a-4a8e-9f00-aa11bb22cc33-AbCdEf';
const PASSWORD = 'Zq8-very-secret-master-pw';
/** The Aurora cluster the secret belongs to, as RDS tags it. */
const OWNER: SecretOwner = { resource: 'cluster', identifier: 'orders' };
const OWNER_TAG = { Key: 'aws:rds:primaryDBClusterArn', Value: 'arn:aws:rds:eu-west-1:123456789012:cluster:orders' };
const meta = { $metadata: {} };
/** An AWS error this client has no class for (AccessDenied and throttling are common to all services). */
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

describe('Secrets Manager admin secrets requests', () => {
  const mock = mockClient(SecretsManagerClient);
  const regions: string[] = [];
  const secrets = new SecretsManagerAdminSecrets({
    clientForRegion: (region) => {
      regions.push(region);
      return new SecretsManagerClient({ region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    },
  });
  /** DescribeSecret shows RDS's tag for OWNER (what a secret RDS manages for that cluster carries). */
  const owned = (tags = [OWNER_TAG]): void => void mock.on(DescribeSecretCommand).resolves({ ARN, Tags: tags });
  beforeEach(() => {
    mock.reset();
    owned();
    owned();
  });

  /** The rejection, checked to be an AdminSecretError that does not quote the password. */
  async function failure(arn = ARN): Promise<AdminSecretError> {
    const err: unknown = await secrets.read(arn, OWNER).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdminSecretError);
    const e = err as AdminSecretError;
    expect(e.message).not.toContain(PASSWORD);
    expect(JSON.stringify(e)).not.toContain(PASSWORD);
    return e;
  }

  it('asks GetSecretValue for the ARN (current version) in the region the ARN names, and reads the RDS JSON', async () => {
    mock.on(GetSecretValueCommand).resolves({ ARN, SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD }) });
    expect(await secrets.read(ARN, OWNER)).toEqual({ user: 'postgres', password: PASSWORD });
    const calls = mock.commandCalls(GetSecretValueCommand);
    expect(calls).toHaveLength(1);
    // No VersionStage / VersionId: the default is AWSCURRENT, the value RDS keeps in sync.
    expect(calls[0]?.args[0].input).toEqual({ SecretId: ARN });
    expect(await calls[0]?.thisValue.config.region()).toBe('eu-west-1');
    expect(regions).toContain('eu-west-1');
  });

  it('reads again on every call (a rotated password is picked up at once)', async () => {
    mock
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ username: 'postgres', password: 'before-rotation' }) })
      .resolves({ SecretString: JSON.stringify({ username: 'postgres', password: 'after-rotation' }) });
    expect((await secrets.read(ARN, OWNER)).password).toBe('before-rotation');
    expect((await secrets.read(ARN, OWNER)).password).toBe('after-rotation');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('accepts the console\'s RDS credential format (extra keys are ignored)', async () => {
    const value = { engine: 'postgres', host: 'db.example', port: 5432, dbname: 'postgres', username: 'admin_user', password: PASSWORD };
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    expect(await secrets.read(ARN, OWNER)).toEqual({ user: 'admin_user', password: PASSWORD });
  });

  it('uses a client of another region for a secret there', async () => {
    const other = ARN.replace('eu-west-1', 'us-east-2');
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD }) });
    await secrets.read(other, OWNER);
    expect(await mock.commandCalls(GetSecretValueCommand)[0]?.thisValue.config.region()).toBe('us-east-2');
  });

  it('refuses a non-Secrets-Manager ARN without calling AWS', async () => {
    const e = await failure('arn:aws:ssm:eu-west-1:123456789012:parameter/x');
    expect(e.reason).toBe('not-found');
    expect(e.message).toMatch(/not a Secrets Manager secret ARN/);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('maps a missing secret to not-found', async () => {
    mock.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", ...meta }));
    const e = await failure();
    expect(e.reason).toBe('not-found');
    expect(e.awsError).toBe('ResourceNotFoundException');
    expect(e.message).toContain(ARN);
  });

  it('maps a secret scheduled for deletion (InvalidRequestException) to not-found', async () => {
    mock.on(GetSecretValueCommand).rejects(new InvalidRequestException({ message: 'marked for deletion', ...meta }));
    expect((await failure()).reason).toBe('not-found');
  });

  it('maps AccessDenied and a KMS DecryptionFailure to denied, with what IAM to check', async () => {
    mock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException', 'not authorized'));
    const denied = await failure();
    expect(denied.reason).toBe('denied');
    expect(denied.message).toMatch(/rds!/);
    mock.reset();
    owned();
    mock.on(GetSecretValueCommand).rejects(new DecryptionFailure({ message: 'kms', ...meta }));
    const kms = await failure();
    expect(kms.reason).toBe('denied');
    expect(kms.message).toMatch(/KMS key/);
  });

  it('maps service failures and throttling to unavailable', async () => {
    mock.on(GetSecretValueCommand).rejects(new InternalServiceError({ message: 'boom', ...meta }));
    expect((await failure()).reason).toBe('unavailable');
    mock.reset();
    owned();
    mock.on(GetSecretValueCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    expect((await failure()).reason).toBe('unavailable');
  });

  it('refuses a secret that is not JSON, without quoting it', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: PASSWORD });
    const e = await failure();
    expect(e.reason).toBe('invalid');
    expect(e.message).toMatch(/is not JSON/);
  });

  it('refuses JSON that is not an object', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify([PASSWORD]) });
    expect((await failure()).message).toMatch(/not a JSON object/);
  });

  it('names the missing or malformed fields, never their values', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', pass: PASSWORD }) });
    const noPassword = await failure();
    expect(noPassword.reason).toBe('invalid');
    expect(noPassword.message).toMatch(/has no usable "password" \(expected/);
    mock.reset();
    owned();
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 42, password: '' }) });
    expect((await failure()).message).toMatch(/no usable "password" and "username"/);
  });

  it('refuses a binary secret', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretBinary: Buffer.from(PASSWORD) });
    const e = await failure();
    expect(e.reason).toBe('invalid');
    expect(e.message).toMatch(/binary/);
  });

  it('reads the value only after DescribeSecret shows the secret is the one RDS manages for the cluster', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD }) });
    await secrets.read(ARN, OWNER);
    expect(mock.commandCalls(DescribeSecretCommand)[0]?.args[0].input).toEqual({ SecretId: ARN });
    // Identifiers compare case-insensitively, as RDS treats them.
    expect((await secrets.read(ARN, { resource: 'cluster', identifier: 'ORDERS' })).user).toBe('postgres');
  });

  it.each([
    ['no tags at all', [], OWNER],
    ['the master secret of another cluster', [{ Key: 'aws:rds:primaryDBClusterArn', Value: 'arn:aws:rds:eu-west-1:123456789012:cluster:payroll' }], OWNER],
    ['an instance secret offered for a cluster', [{ Key: 'aws:rds:primaryDBInstanceArn', Value: 'arn:aws:rds:eu-west-1:123456789012:db:orders' }], OWNER],
    ['a cluster secret offered for an instance', [OWNER_TAG], { resource: 'db', identifier: 'orders' } as SecretOwner],
    ['a look-alike user tag (users cannot set aws: tags)', [{ Key: 'rds:primaryDBClusterArn', Value: OWNER_TAG.Value }], OWNER],
    ['a tag value that is not an RDS ARN', [{ Key: 'aws:rds:primaryDBClusterArn', Value: 'orders' }], OWNER],
  ])('refuses %s as not-owned, without reading the value', async (_what, tags, owner) => {
    owned(tags);
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD }) });
    const err = await secrets.read(ARN, owner).then(
      () => undefined,
      (e: unknown) => e as AdminSecretError,
    );
    expect(err?.reason).toBe('not-owned');
    expect(err?.message).toMatch(/is not the master user secret RDS manages for DB (cluster|instance) orders/);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
