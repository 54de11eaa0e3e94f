// admin.secretArn at registration: the ARN must be a Secrets Manager secret ARN, and only RDS
// clusters (whose writer comes from RDS) may have one — a static cluster's writer is whatever the
// caller says, and the master password must never be sent there. Local mode has no Secrets Manager:
// for an RDS cluster stored with a secret admin, tenants without provisioning work, and
// provisioning is refused with 409 CLUSTER_ADMIN_UNAVAILABLE before anything is written.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-6a1e4c5b-2f3d-4e5f-8a9b-0c1d2e3f4a5b-Ab12Cd';

let t: LocalTestDeps;
beforeEach(async () => {
  t = await localTestDeps();
});
afterEach(async () => {
  await t.cleanup();
});

const cluster = (admin: unknown, extra: Record<string, unknown> = { kind: 'static', writer: { host: '127.0.0.1', port: 5432 } }) => ({
  method: 'POST' as const,
  path: '/clusters',
  body: { clusterId: 'managed', ...extra, admin },
});

it('accepts admin.secretArn only as a Secrets Manager secret ARN, for an RDS cluster whose endpoints come from RDS', async () => {
  const aurora = { kind: 'aurora', rds: { clusterIdentifier: 'orders' } };
  const cases: Array<[string, ReturnType<typeof cluster>, RegExp]> = [
    ['not a secret ARN', cluster({ secretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/admin' }, aurora), /Secrets Manager secret ARN/],
    ['a static cluster', cluster({ secretArn: ARN }), /only RDS clusters \(aurora, rds-instance\)/],
    ['an RDS cluster with a writer given', cluster({ secretArn: ARN }, { ...aurora, writer: { host: 'attacker.example', port: 5432 } }), /writer and readers come from RDS/],
  ];
  for (const [what, request, message] of cases) {
    const res = await invoke(makeCreateCluster(t.deps), request);
    expect(res.status, what).toBe(400);
    expect(field(res.body, 'error', 'code'), what).toBe('INVALID_REQUEST');
    expect(JSON.stringify(field(res.body, 'error', 'details')), what).toMatch(message);
  }
  expect(await t.deps.adapters.clusters.get('managed')).toBeUndefined();
});

it('refuses to provision on a secret admin in local mode with 409 CLUSTER_ADMIN_UNAVAILABLE and keeps no tenant; without provisioning the tenant is created', async () => {
  // Stored as an AWS deployment would have registered it (local mode cannot ask RDS for the writer).
  await t.deps.adapters.clusters.create({
    clusterId: 'managed',
    kind: 'aurora',
    rds: { clusterIdentifier: 'orders' },
    writer: { host: '127.0.0.1', port: 5432 },
    readers: [],
    lastEventTime: new Date().toISOString(),
    admin: { secretArn: ARN },
  });
  const body = { tenantId: 'local-sm', client: { database: 'app', user: 'app' }, destination: { clusterId: 'managed', database: 'app', user: 'app' } };
  const res = await invoke(makeCreateTenant(t.deps), { method: 'POST', path: '/tenants', body: { ...body, provision: true } });
  expect(res.status).toBe(409);
  expect(field(res.body, 'error', 'code')).toBe('CLUSTER_ADMIN_UNAVAILABLE');
  expect(field<string>(res.body, 'error', 'message')).toMatch(/Secrets Manager.*local mode/);
  expect(await t.deps.adapters.tenants.get('local-sm')).toBeUndefined();

  const plain = await invoke(makeCreateTenant(t.deps), { method: 'POST', path: '/tenants', body: { ...body, destination: { ...body.destination, password: 'destination-pw' } } });
  expect(plain.status).toBe(201);
});
