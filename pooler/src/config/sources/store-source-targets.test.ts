// The store-backed source (local adapters in a temp dir, a scripted topology and published
// targets): tenants routed to their cluster's writer with the decrypted password; published
// targets with an older epoch ignored; a refresh that finds moved targets, or (targets unchanged)
// a writer observed by the topology, which lasts until the control plane publishes a newer epoch;
// refreshes throttled per cluster; passwords decrypted once; the rotation grace end reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScramVerifier } from '../../../../shared/src/auth/verifier.ts';
import type { ClusterTargets } from '../../../../shared/src/domain/cluster-targets.ts';
import type { Endpoint } from '../../../../shared/src/domain/common.ts';
import { exampleNewTenant } from '../../../../shared/src/testing/examples.ts';
import { tenantSecretContext } from '../../../../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../../../../shared/src/local/adapters.ts';
import type { Adapters } from '../../../../shared/src/ports/adapters.ts';
import type { ObservedTopology } from '../../../../shared/src/ports/topology.ts';
import { configSchema } from '../schema.ts';
import { StoreSource } from './store-source.ts';

const log = pino({ level: 'silent' });
const A = { host: '10.0.0.1', port: 5432 };
const B = { host: '10.0.0.2', port: 5432 };
const C = { host: '10.0.0.3', port: 5433 };

let dir: string;
let local: Adapters;
let published: ClusterTargets | undefined;
let observed: ObservedTopology;
let described = 0;
let source: StoreSource;

function targets(writer: Endpoint, epoch: number): ClusterTargets {
  return { writer, readers: [], epoch, eventTime: '2030-01-01T00:00:00.000Z' };
}

async function addTenant(tenantId: string, database: string, destination: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  const ctx = { clusterId: destination.clusterId as string | undefined };
  await local.tenants.create(
    exampleNewTenant({
      tenantId,
      client: { database, user: 'app' },
      destination: {
        ...(destination as { database: string; user: string }),
        passwordCiphertext: await local.secrets.encrypt(`pw-${tenantId}`, tenantSecretContext(tenantId, ctx)),
      },
      ...extra,
    }),
  );
}

const targetOf = async (id = 'on-cluster') => (await source.routing()).config.tenants.find((t) => t.id === id)?.target;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-store-source-'));
  local = await createLocalAdapters(dir);
  published = targets(A, 1);
  observed = { writer: A, readers: [] };
  described = 0;
  await local.clusters.create({ clusterId: 'main', kind: 'static', writer: A, readers: [B], members: [A, B, C] });
  await addTenant('on-cluster', 'one', { clusterId: 'main', database: 'd1', user: 'r1' });
  await addTenant('fixed-host', 'two', { host: 'db.internal', database: 'd2', user: 'r2' });
  source = new StoreSource({
    kind: 'local',
    adapters: {
      ...local,
      config: { ...local.config, getClusterTargets: async () => published, getConfigVersion: async () => 3 },
      topology: {
        describe: async () => {
          described++;
          return observed;
        },
      },
    },
    base: () => configSchema.parse({ listen: { port: 0 } }),
    log,
    useTopology: true,
    clusterRefreshIntervalMs: 0,
  });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('StoreSource', () => {
  it('routes each tenant to its cluster writer or fixed host with the decrypted password, decrypting once', async () => {
    const loaded = await source.load();
    expect(loaded.version).toBe(3);
    const byId = new Map(loaded.config.tenants.map((t) => [t.id, t]));
    expect(byId.get('on-cluster')?.target).toMatchObject({ ...A, database: 'd1', user: 'r1', password: 'pw-on-cluster' });
    expect(byId.get('fixed-host')?.target).toMatchObject({ host: 'db.internal', port: 5432, password: 'pw-fixed-host' });
    expect(source.decrypts).toBe(2);
    await source.load();
    expect(source.decrypts).toBe(2);
  });

  it('ignores published targets with an older epoch than the ones it holds', async () => {
    published = targets(B, 5);
    await source.load();
    published = targets(A, 4);
    await source.load();
    expect(await targetOf()).toMatchObject(B);
  });

  it('forgets the targets of a deleted cluster: a cluster re-created under the same id starts again at epoch 0', async () => {
    // DELETE /clusters/{id} then POST /clusters with the same id (functions/api/clusters-*.ts): the
    // new cluster's epoch restarts at 0, and held targets of the old one (epoch 5, writer B) must
    // not outrank it — its tenants would be sent to the old cluster's server.
    published = targets(B, 5);
    await source.load();
    expect(await targetOf()).toMatchObject(B);
    const old = await local.clusters.get('main');
    await local.tenants.delete('on-cluster');
    await local.clusters.delete('main');
    // A new incarnation: created in a later millisecond than the old one.
    while (new Date().toISOString() === old!.createdAt) await new Promise((r) => setImmediate(r));
    await local.clusters.create({ clusterId: 'main', kind: 'static', writer: C, readers: [], members: [C] });
    await addTenant('on-cluster', 'one', { clusterId: 'main', database: 'd1', user: 'r1' });
    published = targets(C, 0);
    await source.load();
    expect(await targetOf()).toMatchObject(C);
  });

  it('refreshes to moved targets, or to the writer the topology observes until a newer epoch is published', async () => {
    await source.load();
    // Nothing moved, the topology agrees: no change.
    expect(await source.refreshTargets('on-cluster')).toBe(false);
    // The control plane published a new writer.
    published = targets(B, 2);
    expect(await source.refreshTargets('on-cluster')).toBe(true);
    expect(await targetOf()).toMatchObject(B);
    // Nothing published, but the topology sees another writer: routed there in memory...
    observed = { writer: C, readers: [B] };
    expect(await source.refreshTargets('on-cluster')).toBe(true);
    expect(await targetOf()).toMatchObject(C);
    // ...across full loads while the published epoch stays the same...
    expect((await source.load()).config.tenants.find((t) => t.id === 'on-cluster')?.target).toMatchObject(C);
    // ...until the control plane publishes a newer epoch, which wins.
    published = targets(A, 3);
    await source.load();
    expect(await targetOf()).toMatchObject(A);
    // No writer observed (mid-failover): nothing changes.
    observed = { writer: null, readers: [] };
    expect(await source.refreshTargets('on-cluster')).toBe(false);
    expect(await targetOf()).toMatchObject(A);
  });

  it('has nothing to refresh for a fixed-host tenant, and throttles refreshes per cluster', async () => {
    await source.load();
    expect(await source.refreshTargets('fixed-host')).toBe(false);
    expect(described).toBe(0);
    const throttled = new StoreSource({
      kind: 'local',
      adapters: {
        ...local,
        config: { ...local.config, getClusterTargets: async () => published, getConfigVersion: async () => 3 },
        topology: { describe: async () => (described++, observed) },
      },
      base: () => configSchema.parse({}),
      log,
      useTopology: true,
    });
    await throttled.load();
    await Promise.all([throttled.refreshTargets('on-cluster'), throttled.refreshTargets('on-cluster')]);
    await throttled.refreshTargets('on-cluster');
    expect(described).toBe(1);
  });

  it('reports when a rotation grace period ends, accepting the old verifier until then', async () => {
    const old = createScramVerifier('old-secret', { iterations: 16 });
    const t = (await local.tenants.get('on-cluster'))!;
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    await local.tenants.update('on-cluster', t.version, { clientAuth: { ...t.clientAuth, previous: { scram: old, expiresAt } } });
    const loaded = await source.load();
    expect(loaded.staleAt).toBe(Date.parse(expiresAt));
    expect(loaded.config.tenants.find((x) => x.id === 'on-cluster')?.verifiers).toContain(old);
  });

  it('leaves out a tenant whose cluster has no targets, and keeps a tenant’s previous routing when its password no longer opens', async () => {
    await source.load();
    const t = (await local.tenants.get('on-cluster'))!;
    // A ciphertext made for another tenant does not open under this tenant's context.
    const foreign = await local.secrets.encrypt('x', tenantSecretContext('someone-else', { clusterId: 'main' }));
    await local.tenants.update('on-cluster', t.version, { destination: { ...t.destination, passwordCiphertext: foreign } });
    await local.clusters.create({ clusterId: 'other', kind: 'static', writer: A, readers: [] });
    await addTenant('homeless', 'three', { clusterId: 'other', database: 'd3', user: 'r3' });
    published = undefined; // and 'main' keeps the targets already held
    const loaded = await source.load();
    expect(loaded.config.tenants.map((x) => x.id).sort()).toEqual(['fixed-host', 'on-cluster']);
    expect(await targetOf()).toMatchObject({ ...A, password: 'pw-on-cluster' });
  });
});
