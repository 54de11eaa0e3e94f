import { DecryptCommand, DisabledException, EncryptCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretError } from '../domain/errors.ts';
import { KmsSecretBox } from './kms-secret-box.ts';

describe('KMS secret box requests', () => {
  const kms = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(kms);
  const box = new KmsSecretBox(kms, 'alias/switchyard');
  const ctx = { tenantId: 'acme-prod', clusterId: 'main' };
  beforeEach(() => mock.reset());

  it('passes key and encryption context to Encrypt and Decrypt', async () => {
    mock.on(EncryptCommand).resolves({ CiphertextBlob: Uint8Array.from([1, 2, 3]) });
    mock.on(DecryptCommand).resolves({ Plaintext: Buffer.from('pw') });
    const ct = await box.encrypt('pw', ctx);
    expect(ct).toBe(Buffer.from([1, 2, 3]).toString('base64'));
    expect(await box.decrypt(ct, ctx)).toBe('pw');
    const enc = mock.commandCalls(EncryptCommand)[0]?.args[0].input;
    expect(enc?.KeyId).toBe('alias/switchyard');
    expect(enc?.EncryptionContext).toEqual(ctx);
    expect(Buffer.from(enc?.Plaintext ?? new Uint8Array()).toString()).toBe('pw');
    const dec = mock.commandCalls(DecryptCommand)[0]?.args[0].input;
    expect(dec?.EncryptionContext).toEqual(ctx);
    expect(dec?.KeyId).toBe('alias/switchyard');
    expect(Buffer.from(dec?.CiphertextBlob ?? new Uint8Array())).toEqual(Buffer.from([1, 2, 3]));
  });

  it('maps InvalidCiphertextException (wrong context) to SecretError', async () => {
    mock.on(DecryptCommand).rejects(new InvalidCiphertextException({ message: 'x', $metadata: {} }));
    await expect(box.decrypt('AQID', ctx)).rejects.toBeInstanceOf(SecretError);
  });

  it('lets operational errors through (a disabled key is an outage to alert on, not a bad ciphertext)', async () => {
    mock.on(DecryptCommand).rejects(new DisabledException({ message: 'disabled', $metadata: {} }));
    await expect(box.decrypt('AQID', ctx)).rejects.toBeInstanceOf(DisabledException);
  });
});
