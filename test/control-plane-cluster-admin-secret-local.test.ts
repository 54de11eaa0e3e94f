// Local mode has no Secrets Manager: a cluster registered with admin.secretArn is stored (the ARN
// must be a Secrets Manager secret ARN), tenants without provisioning work, and provisioning on it
// is refused with 409 CLUSTER_ADMIN_UNAVAILABLE before anything is written.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../functions/api/clusters-create.ts';
import { makeHandler as makeCreateTenant } from '../functions/api/tenants-create.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/lib/test-deps.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-6a1e4c5b-2f3d-4e5f-8a9b-0c1d2e3f4a5b-Ab12Cd';

let t: LocalTestDeps;
beforeEach(async () => {
  t = await localTestDeps();
});
afterEach(async () => {
  await t.cleanup();
});

const cluster = (secretArn: string) => ({
  method: 'POST' as const,
  path: '/clusters',
  body: { clusterId: 'managed', kind: 'static', writer: { host: '127.0.0.1', port: 5432 }, admin: { secretArn } },
});

it('accepts only Secrets Manager secret ARNs as admin.secretArn', async () => {
  const wrong = await invoke(makeCreateCluster(t.deps), cluster('arn:aws:ssm:eu-west-1:123456789012:parameter/admin'));
  expect(wrong.status).toBe(400);
  expect(field(wrong.body, 'error', 'code')).toBe('INVALID_REQUEST');
  expect(JSON.stringify(field(wrong.body, 'error', 'details'))).toMatch(/Secrets Manager secret ARN/);
  const right = await invoke(makeCreateCluster(t.deps), cluster(ARN));
  expect(right.status).toBe(201);
  expect(field(right.body, 'admin')).toEqual({ secretArn: ARN });
});

it('refuses to provision on it with 409 CLUSTER_ADMIN_UNAVAILABLE and keeps no tenant; without provisioning the tenant is created', async () => {
  expect((await invoke(makeCreateCluster(t.deps), cluster(ARN))).status).toBe(201);
  const body = { tenantId: 'local-sm', client: { database: 'app', user: 'app' }, destination: { clusterId: 'managed', database: 'app', user: 'app' } };
  const res = await invoke(makeCreateTenant(t.deps), { method: 'POST', path: '/tenants', body: { ...body, provision: true } });
  expect(res.status).toBe(409);
  expect(field(res.body, 'error', 'code')).toBe('CLUSTER_ADMIN_UNAVAILABLE');
  expect(field<string>(res.body, 'error', 'message')).toMatch(/Secrets Manager.*local mode/);
  expect(await t.deps.adapters.tenants.get('local-sm')).toBeUndefined();

  const plain = await invoke(makeCreateTenant(t.deps), { method: 'POST', path: '/tenants', body: { ...body, destination: { ...body.destination, password: 'destination-pw' } } });
  expect(plain.status).toBe(201);
});
