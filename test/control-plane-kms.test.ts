// KMS secret box against moto: the encryption context is bound to the ciphertext.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KmsSecretBox } from '../shared/src/aws/kms-secret-box.ts';
import { SecretError } from '../shared/src/domain/errors.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('KMS secret box (moto)', () => {
  useMoto();
  let kms: KMSClient;
  let box: KmsSecretBox;
  beforeAll(async () => {
    kms = new KMSClient({});
    const key = await kms.send(new CreateKeyCommand({ Description: 'switchyard test' }));
    box = new KmsSecretBox(kms, key.KeyMetadata?.KeyId ?? '');
  });
  afterAll(() => kms?.destroy());

  it('decrypts a destination password only with the context it was encrypted under', async () => {
    const ctx = tenantSecretContext('acme-prod', { clusterId: 'main' });
    const ct = await box.encrypt('destination-pw', ctx);
    expect(ct).not.toContain('destination-pw');
    expect(await box.decrypt(ct, { clusterId: 'main', tenantId: 'acme-prod' })).toBe('destination-pw');
    await expect(box.decrypt(ct, tenantSecretContext('other-tenant', { clusterId: 'main' }))).rejects.toBeInstanceOf(SecretError);
    await expect(box.decrypt(ct, tenantSecretContext('acme-prod', {}))).rejects.toBeInstanceOf(SecretError);
    await expect(box.decrypt(ct, {})).rejects.toBeInstanceOf(SecretError);
  });

  it('refuses a ciphertext that is not one', async () => {
    await expect(box.decrypt(Buffer.from('garbage-garbage-garbage').toString('base64'), { tenantId: 'a', clusterId: 'b' })).rejects.toBeInstanceOf(SecretError);
  });
});
