// clusterAdminTarget: ciphertext admins are decrypted, secret admins are read through the port,
// and each way a secret can fail becomes its stable HTTP code (docs/errors.md).
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { AdminSecretError, type AdminSecretFailure, type ClusterAdminSecrets } from '../../shared/src/ports/cluster-admin-secrets.ts';
import type { SecretBox } from '../../shared/src/ports/secret-box.ts';
import { ClusterAdminSecretError, clusterAdminTarget, hasUsableAdmin } from './cluster-admin.ts';
import { mapError } from './error-response.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-AbCdEf';
const now = '2025-01-01T00:00:00.000Z';
/** An Aurora cluster `orders` (a Secrets Manager admin needs an RDS cluster), or a static one. */
const cluster = (admin: Cluster['admin'], kind: Cluster['kind'] = 'aurora'): Cluster => ({
  clusterId: 'main',
  kind,
  ...(kind === 'aurora' ? { rds: { clusterIdentifier: 'orders' } } : {}),
  writer: { host: 'db.internal', port: 5433 },
  readers: [],
  epoch: 0,
  lastEventTime: now,
  version: 1,
  createdAt: now,
  updatedAt: now,
  ...(admin ? { admin } : {}),
});
const box: SecretBox = {
  encrypt: () => Promise.reject(new Error('unused')),
  decrypt: (ct) => Promise.resolve(`decrypted:${ct}`),
};
/** Records the owner each read names. */
const owners: unknown[] = [];
const reader = (result: () => Promise<{ user: string; password: string }>): ClusterAdminSecrets => ({
  read: (_arn, owner) => {
    owners.push(owner);
    return result();
  },
});

describe('clusterAdminTarget', () => {
  it('decrypts a ciphertext admin and reads a secret admin, at the writer, in the given database', async () => {
    expect(await clusterAdminTarget({ secrets: box }, cluster({ user: 'admin', passwordCiphertext: 'ct' }), 'db1')).toEqual({
      host: 'db.internal', port: 5433, database: 'db1', user: 'admin', password: 'decrypted:ct',
    });
    const sources = { secrets: box, adminSecrets: reader(() => Promise.resolve({ user: 'master', password: 'pw' })) };
    expect(await clusterAdminTarget(sources, cluster({ secretArn: ARN }))).toEqual({ host: 'db.internal', port: 5433, database: 'postgres', user: 'master', password: 'pw' });
    // The secret must be the one RDS manages for the cluster's own RDS resource.
    expect(owners.at(-1)).toEqual({ resource: 'cluster', identifier: 'orders' });
  });

  it('never reads a secret admin for a static cluster (its writer is whatever its creator gave): 409', async () => {
    const sources = { secrets: box, adminSecrets: reader(() => Promise.resolve({ user: 'master', password: 'pw' })) };
    const before = owners.length;
    const mapped = mapError(await clusterAdminTarget(sources, cluster({ secretArn: ARN }, 'static')).catch((e: unknown) => e));
    expect(mapped.status).toBe(409);
    expect(mapped.body.error.code).toBe('CLUSTER_ADMIN_UNAVAILABLE');
    expect(mapped.body.error.message).toMatch(/only RDS clusters/);
    expect(owners.length).toBe(before);
  });

  it('says which clusters are usable here without asking AWS', () => {
    expect(hasUsableAdmin({ secrets: box }, cluster(undefined))).toBe(false);
    expect(hasUsableAdmin({ secrets: box }, cluster({ secretArn: ARN }))).toBe(false);
    expect(hasUsableAdmin({ secrets: box, adminSecrets: reader(() => Promise.reject(new Error('unused'))) }, cluster({ secretArn: ARN }))).toBe(true);
  });

  it('answers 409 CLUSTER_ADMIN_UNAVAILABLE without admin credentials, or with a secret and no way to read it', async () => {
    for (const c of [cluster(undefined), cluster({ secretArn: ARN })]) {
      const mapped = mapError(await clusterAdminTarget({ secrets: box }, c).catch((e: unknown) => e));
      expect(mapped.status).toBe(409);
      expect(mapped.body.error.code).toBe('CLUSTER_ADMIN_UNAVAILABLE');
    }
  });

  it.each([
    ['not-found', 409, 'CLUSTER_ADMIN_SECRET_NOT_FOUND'],
    ['invalid', 409, 'CLUSTER_ADMIN_SECRET_INVALID'],
    ['not-owned', 409, 'CLUSTER_ADMIN_SECRET_NOT_OWNED'],
    ['denied', 502, 'CLUSTER_ADMIN_SECRET_DENIED'],
    ['unavailable', 502, 'CLUSTER_ADMIN_SECRET_UNAVAILABLE'],
  ] as const)('maps a %s secret to %i %s, naming the cluster', async (reason: AdminSecretFailure, status, code) => {
    const sources = { secrets: box, adminSecrets: reader(() => Promise.reject(new AdminSecretError(reason, ARN, `secret ${ARN} failed`))) };
    const err: unknown = await clusterAdminTarget(sources, cluster({ secretArn: ARN })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterAdminSecretError);
    const mapped = mapError(err);
    expect(mapped.status).toBe(status);
    expect(mapped.body.error.code).toBe(code);
    expect(mapped.body.error.message).toBe(`cluster main: secret ${ARN} failed`);
  });

  it('lets other failures through (a 500 without detail)', async () => {
    const sources = { secrets: box, adminSecrets: reader(() => Promise.reject(new Error('bug'))) };
    const err: unknown = await clusterAdminTarget(sources, cluster({ secretArn: ARN })).catch((e: unknown) => e);
    expect(mapError(err).status).toBe(500);
  });
});
