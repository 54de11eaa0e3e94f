// createAwsAdapters(env) wired end to end against moto: the flow a failover handler runs
// (store → topology → epoch rule → publish → bump → push) through the factory the handlers use.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateDBClusterCommand, CreateDBInstanceCommand, FailoverDBClusterCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAwsAdapters } from '../shared/src/aws/adapters.ts';
import { clusterTargetsOf } from '../shared/src/domain/cluster-targets.ts';
import { exampleNewTenant } from '../shared/src/testing/examples.ts';
import { tenantSecretContext } from '../shared/src/domain/tenant.ts';
import { applyWriterChange } from '../shared/src/domain/writer-change.ts';
import type { Adapters } from '../shared/src/ports/adapters.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

describeWithMoto('createAwsAdapters (moto)', () => {
  useMoto();
  let a: Adapters;
  beforeAll(async () => {
    const dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard-e2e');
    dynamodb.destroy();
    const kms = new KMSClient({});
    const key = await kms.send(new CreateKeyCommand({}));
    kms.destroy();
    a = createAwsAdapters({
      SWITCHYARD_TABLE: 'switchyard-e2e',
      SWITCHYARD_KMS_KEY_ID: key.KeyMetadata?.KeyId ?? '',
      SWITCHYARD_STAGE: 'e2e',
    });
  });
  afterAll(async () => a?.close());

  it('runs the failover flow: register, observe, bump the epoch, publish, reload', async () => {
    const rds = new RDSClient({});
    await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: 'e2e', Engine: 'aurora-postgresql', MasterUsername: 'postgres', MasterUserPassword: 'not-a-real-password' }));
    for (const id of ['e2e-a', 'e2e-b']) {
      await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: id, DBClusterIdentifier: 'e2e', Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.large' }));
    }
    const draft = { clusterId: 'e2e', kind: 'aurora' as const, rds: { clusterIdentifier: 'e2e' } };
    // Registration: describe before the cluster exists, then store it with the observed writer.
    const initial = await a.topology.describe(draft);
    if (!initial.writer) throw new Error('no writer observed');
    let cluster = await a.clusters.create({ ...draft, writer: initial.writer, readers: initial.readers, lastEventTime: '2025-01-01T00:00:00.000Z' });

    const password = 'destination-pw';
    const ciphertext = await a.secrets.encrypt(password, tenantSecretContext('acme-prod', { clusterId: 'e2e' }));
    await a.tenants.create(exampleNewTenant({ destination: { clusterId: 'e2e', database: 'acme', user: 'acme_app', passwordCiphertext: ciphertext } }));
    expect((await a.tenants.listByCluster('e2e')).map((t) => t.tenantId)).toEqual(['acme-prod']);

    await rds.send(new FailoverDBClusterCommand({ DBClusterIdentifier: 'e2e', TargetDBInstanceIdentifier: initial.readers[0] ? 'e2e-b' : 'e2e-a' }));
    rds.destroy();
    const observed = await a.topology.describe(cluster);
    const r = applyWriterChange(cluster, observed, '2025-01-01T00:01:00.000Z');
    expect(r.changed).toBe(true);
    cluster = await a.clusters.update(cluster.clusterId, cluster.version, {
      writer: r.cluster.writer,
      readers: r.cluster.readers,
      epoch: r.cluster.epoch,
      lastEventTime: r.cluster.lastEventTime,
    });
    expect(cluster.epoch).toBe(1);
    expect(await a.config.publishClusterTargets('e2e', clusterTargetsOf(cluster))).toBe(true);
    expect((await a.config.getClusterTargets('e2e'))?.writer).toEqual(observed.writer);
    expect(await a.config.bumpConfigVersion()).toBe(1);
    expect((await a.config.pushReload()).commandId).toBeTruthy();

    const stored = await a.tenants.get('acme-prod');
    expect(await a.secrets.decrypt(stored?.destination.passwordCiphertext ?? '', tenantSecretContext('acme-prod', stored?.destination ?? {}))).toBe(password);
  });
});
