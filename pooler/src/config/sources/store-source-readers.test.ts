// The store-backed source gives a tenant with a read endpoint its cluster's published readers
// (docs/read-endpoints.md), and keeps them in step with the targets: a new epoch's readers replace
// them, and a reader the pooler routes to as the writer (published, or observed by the topology
// after a failover nothing has published yet) is left out of them. A tenant with the endpoint off
// gets none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterTargets } from '../../../../shared/src/domain/cluster-targets.ts';
import type { Endpoint } from '../../../../shared/src/domain/common.ts';
import { exampleNewTenant } from '../../../../shared/src/testing/examples.ts';
import { tenantSecretContext } from '../../../../shared/src/domain/tenant.ts';
import { createLocalAdapters } from '../../../../shared/src/local/adapters.ts';
import type { Adapters } from '../../../../shared/src/ports/adapters.ts';
import type { ObservedTopology } from '../../../../shared/src/ports/topology.ts';
import { configSchema } from '../schema.ts';
import { StoreSource } from './store-source.ts';

const A = { host: '10.0.0.1', port: 5432 };
const B = { host: '10.0.0.2', port: 5432 };
const C = { host: '10.0.0.3', port: 5433 };

let dir: string;
let local: Adapters;
let published: ClusterTargets;
let observed: ObservedTopology;
let source: StoreSource;

const targets = (writer: Endpoint, readers: Endpoint[], epoch: number): ClusterTargets => ({ writer, readers, epoch, eventTime: '2030-01-01T00:00:00.000Z' });

async function addTenant(tenantId: string, database: string, readEndpoint?: { enabled: boolean; maxReplicaLagMs: number }): Promise<void> {
  await local.tenants.create(
    exampleNewTenant({
      tenantId,
      client: { database, user: 'app' },
      destination: { clusterId: 'main', database: 'd', user: 'r', passwordCiphertext: await local.secrets.encrypt(`pw-${tenantId}`, tenantSecretContext(tenantId, { clusterId: 'main' })) },
      ...(readEndpoint !== undefined ? { readEndpoint } : {}),
    }),
  );
}

const readOf = async (id: string) => (await source.routing()).config.tenants.find((t) => t.id === id)?.read_endpoint;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-store-readers-'));
  local = await createLocalAdapters(dir);
  published = targets(A, [B, C], 1);
  observed = { writer: A, readers: [B, C] };
  await local.clusters.create({ clusterId: 'main', kind: 'static', writer: A, readers: [B, C], members: [A, B, C] });
  await addTenant('reads', 'one', { enabled: true, maxReplicaLagMs: 300 });
  await addTenant('reads-off', 'two', { enabled: false, maxReplicaLagMs: 300 });
  await addTenant('no-reads', 'three');
  source = new StoreSource({
    kind: 'local',
    adapters: {
      ...local,
      config: { ...local.config, getClusterTargets: async () => published, getConfigVersion: async () => 1 },
      topology: { describe: async () => observed },
    },
    base: () => configSchema.parse({ listen: { port: 0 } }),
    log: pino({ level: 'silent' }),
    useTopology: true,
    clusterRefreshIntervalMs: 0,
  });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('StoreSource read endpoints', () => {
  it('gives the cluster’s readers to a tenant with the endpoint on, none to the others', async () => {
    await source.load();
    expect(await readOf('reads')).toEqual({ readers: [B, C], max_replica_lag_ms: 300 });
    expect(await readOf('reads-off')).toBeUndefined();
    expect(await readOf('no-reads')).toBeUndefined();
  });

  it('follows the targets: a new epoch’s readers, minus a reader that became the writer (published or observed)', async () => {
    await source.load();
    // Published failover: B is the writer, A came back as a reader.
    published = targets(B, [A, C], 2);
    expect(await source.refreshTargets('reads')).toBe(true);
    expect(await readOf('reads')).toEqual({ readers: [A, C], max_replica_lag_ms: 300 });
    // Nothing published, the topology sees C promoted: C is routed to as the writer, not as a reader.
    observed = { writer: C, readers: [A] };
    expect(await source.refreshTargets('reads')).toBe(true);
    expect((await source.routing()).config.tenants.find((t) => t.id === 'reads')?.target).toMatchObject(C);
    expect(await readOf('reads')).toEqual({ readers: [A], max_replica_lag_ms: 300 });
  });
});
