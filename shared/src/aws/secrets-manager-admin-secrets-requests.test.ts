import {
  DecryptionFailure,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AdminSecretError } from '../ports/cluster-admin-secrets.ts';
import { SecretsManagerAdminSecrets } from './secrets-manager-admin-secrets.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-0b6f1c2e-1d2a-4a8e-9f00-aa11bb22cc33-AbCdEf';
const PASSWORD = 'Zq8-very-secret-master-pw';
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
  beforeEach(() => mock.reset());

  /** The rejection, checked to be an AdminSecretError that does not quote the password. */
  async function failure(arn = ARN): Promise<AdminSecretError> {
    const err: unknown = await secrets.read(arn).then(
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
    expect(await secrets.read(ARN)).toEqual({ user: 'postgres', password: PASSWORD });
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
    expect((await secrets.read(ARN)).password).toBe('before-rotation');
    expect((await secrets.read(ARN)).password).toBe('after-rotation');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('accepts the console\'s RDS credential format (extra keys are ignored)', async () => {
    const value = { engine: 'postgres', host: 'db.example', port: 5432, dbname: 'postgres', username: 'admin_user', password: PASSWORD };
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    expect(await secrets.read(ARN)).toEqual({ user: 'admin_user', password: PASSWORD });
  });

  it('uses a client of another region for a secret there', async () => {
    const other = ARN.replace('eu-west-1', 'us-east-2');
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD }) });
    await secrets.read(other);
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
    mock.on(GetSecretValueCommand).rejects(new DecryptionFailure({ message: 'kms', ...meta }));
    const kms = await failure();
    expect(kms.reason).toBe('denied');
    expect(kms.message).toMatch(/KMS key/);
  });

  it('maps service failures and throttling to unavailable', async () => {
    mock.on(GetSecretValueCommand).rejects(new InternalServiceError({ message: 'boom', ...meta }));
    expect((await failure()).reason).toBe('unavailable');
    mock.reset();
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
    mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 42, password: '' }) });
    expect((await failure()).message).toMatch(/no usable "password" and "username"/);
  });

  it('refuses a binary secret', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretBinary: Buffer.from(PASSWORD) });
    const e = await failure();
    expect(e.reason).toBe('invalid');
    expect(e.message).toMatch(/binary/);
  });
});
