// Valid example records for tests (and as living documentation of the shapes).
import { createMd5Verifier, createScramVerifier } from '../auth/verifier.ts';
import type { Cluster, NewClusterInput } from '../domain/cluster.ts';
import type { NewTenantInput } from '../domain/tenant.ts';

let cachedScram: string | undefined;
/** A real SCRAM verifier (computed once: PBKDF2 is deliberately slow). */
export function exampleScramVerifier(): string {
  cachedScram ??= createScramVerifier('client-secret', { iterations: 16 });
  return cachedScram;
}

export function exampleNewTenant(overrides: Partial<NewTenantInput> = {}): NewTenantInput {
  return {
    tenantId: 'acme-prod',
    client: { database: 'acme', user: 'app' },
    clientAuth: { scram: exampleScramVerifier(), md5: createMd5Verifier('client-secret', 'app') },
    destination: { clusterId: 'main', database: 'acme', user: 'acme_app', passwordCiphertext: 'Y2lwaGVydGV4dA==' },
    ...overrides,
  };
}

export function exampleNewCluster(overrides: Partial<NewClusterInput> = {}): NewClusterInput {
  return {
    clusterId: 'main',
    kind: 'static',
    writer: { host: '10.0.0.1', port: 5432 },
    readers: [{ host: '10.0.0.2', port: 5432 }],
    ...overrides,
  };
}

export function exampleCluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    clusterId: 'main',
    kind: 'static',
    writer: { host: '10.0.0.1', port: 5432 },
    readers: [{ host: '10.0.0.2', port: 5432 }],
    epoch: 3,
    lastEventTime: '2025-01-01T12:00:00.000Z',
    version: 7,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T12:00:00.000Z',
    ...overrides,
  };
}
