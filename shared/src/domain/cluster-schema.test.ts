import { describe, expect, it } from 'vitest';
import { newClusterSchema } from './cluster.ts';
import { ValidationError } from './errors.ts';
import { exampleNewCluster } from '../testing/examples.ts';
import { applyClusterPatch, buildNewCluster } from './lifecycle.ts';

const NOW = new Date('2025-02-01T00:00:00.000Z');

describe('cluster schema', () => {
  it('starts at epoch 0, version 1, lastEventTime = creation time', () => {
    const c = buildNewCluster(exampleNewCluster(), NOW);
    expect(c).toMatchObject({ epoch: 0, version: 1, lastEventTime: NOW.toISOString(), createdAt: NOW.toISOString() });
  });

  it('reserves the clusterId "static" (it marks fixed-host tenants in encryption contexts)', () => {
    expect(newClusterSchema.safeParse(exampleNewCluster({ clusterId: 'static' })).success).toBe(false);
  });

  it('needs the RDS identifier matching its kind', () => {
    expect(newClusterSchema.safeParse(exampleNewCluster({ kind: 'aurora' })).success).toBe(false);
    expect(newClusterSchema.safeParse(exampleNewCluster({ kind: 'aurora', rds: { clusterIdentifier: 'db1' } })).success).toBe(true);
    expect(newClusterSchema.safeParse(exampleNewCluster({ kind: 'rds-instance', rds: { clusterIdentifier: 'db1' } })).success).toBe(false);
    expect(newClusterSchema.safeParse(exampleNewCluster({ kind: 'rds-instance', rds: { instanceIdentifier: 'db1' } })).success).toBe(true);
  });

  it('accepts admin credentials as ciphertext or as a Secrets Manager ARN, not both', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x';
    expect(newClusterSchema.safeParse(exampleNewCluster({ admin: { user: 'postgres', passwordCiphertext: 'abc' } })).success).toBe(true);
    expect(newClusterSchema.safeParse(exampleNewCluster({ admin: { secretArn: arn } })).success).toBe(true);
    const both = { user: 'postgres', passwordCiphertext: 'abc', secretArn: arn } as unknown as { secretArn: string };
    expect(newClusterSchema.safeParse(exampleNewCluster({ admin: both })).success).toBe(false);
  });

  it('refuses a patch that moves the epoch back', () => {
    const c = buildNewCluster(exampleNewCluster({ epoch: 5 }), NOW);
    expect(() => applyClusterPatch(c, { epoch: 4 }, NOW)).toThrow(ValidationError);
    expect(applyClusterPatch(c, { epoch: 6 }, NOW)).toMatchObject({ epoch: 6, version: 2 });
  });
});
