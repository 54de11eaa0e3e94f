// A change the store committed is answered 2xx even when telling the poolers fails: the config
// version bump is retried a bounded number of times, and if it still fails the response carries
// `warning: { code: "CONFIG_NOT_PUBLISHED" }` — with the one-time password, which a 500 would have
// lost for good (the tenant exists, a retry of the create answers without it). The change is not
// lost: the next published change makes the pooler load it (checked through a real pooler).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeCreateCluster } from '../../functions/api/clusters-create.ts';
import { makeHandler as makeCreate } from '../../functions/api/tenants-create.ts';
import { makeHandler as makeDelete } from '../../functions/api/tenants-delete.ts';
import { makeHandler as makeRotate } from '../../functions/api/tenants-rotate-password.ts';
import { makeHandler as makeUpdate } from '../../functions/api/tenants-update.ts';
import { field, invoke, localTestDeps, type InvokeResult, type LocalTestDeps } from '../../functions/testing/test-deps.ts';
import { createScramVerifier, parseVerifier } from '../../shared/src/auth/verifier.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, until } from '../helpers/clients.ts';
import { startPoolerProcess, type PoolerProcess } from '../helpers/failover-rig.ts';
import { registerStaticCluster } from '../helpers/provisioning.ts';
import { createDestination, type Destination } from '../helpers/tenants.ts';

let server: PostgresServer;
let t: LocalTestDeps;
let pooler: PoolerProcess | undefined;
let dest: Destination;
/** Bumps still to fail; Infinity = every one. */
let failBumps = 0;
let bumpCalls = 0;

beforeAll(async () => {
  server = await startPostgres();
  t = await localTestDeps();
  await registerStaticCluster(t.deps, 'pg', server);
  dest = await createDestination(server, { name: 'announce_dest' });
  // Fault injection on the real local channel: the bump throws like a throttled SSM PutParameter.
  const config = t.deps.adapters.config;
  const bump = config.bumpConfigVersion.bind(config);
  config.bumpConfigVersion = async () => {
    bumpCalls++;
    if (failBumps > 0) {
      failBumps--;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    return bump();
  };
  pooler = await startPoolerProcess(t.stateDir);
});

afterAll(async () => {
  await pooler?.stop();
  await t?.cleanup();
  await server?.stop();
});

const create = (tenantId: string, user: string) =>
  invoke(makeCreate(t.deps), {
    method: 'POST',
    path: '/tenants',
    body: { tenantId, client: { database: 'announce_app', user }, destination: { clusterId: 'pg', database: dest.database, user: dest.user, password: dest.password } },
  });

function opens(scram: string, password: string): boolean {
  const v = parseVerifier(scram);
  return v.kind === 'scram' && createScramVerifier(password, { salt: v.salt, iterations: v.iterations }) === scram;
}

async function login(user: string, password: string): Promise<string> {
  try {
    const c = await connectPg({ host: '127.0.0.1', port: pooler!.port, database: 'announce_app', user, password });
    await endQuietly(c);
    return 'ok';
  } catch (err) {
    return pgErrorInfo(err).code ?? pgErrorInfo(err).message;
  }
}

function expectWarned(res: InvokeResult, status: number): void {
  expect(res.status, res.rawBody).toBe(status);
  expect(field(res.body, 'warning', 'code')).toBe('CONFIG_NOT_PUBLISHED');
}

describe('a committed change whose announce fails', () => {
  it('create: 201 with the password and a warning; the next published change makes the pooler serve it', async () => {
    const before = await t.deps.adapters.config.getConfigVersion();
    failBumps = Number.POSITIVE_INFINITY;
    bumpCalls = 0;
    const res = await create('announce-one', 'announce_one');
    failBumps = 0;
    expectWarned(res, 201);
    expect(bumpCalls).toBe(3); // bounded: three attempts, then the answer
    const password = field<string>(res.body, 'password');
    const stored = await t.deps.adapters.tenants.get('announce-one');
    expect(stored && opens(stored.clientAuth.scram, password)).toBe(true);
    expect(await t.deps.adapters.config.getConfigVersion()).toBe(before);
    // Not announced: the pooler does not know the tenant yet (nothing told it to reload).
    expect(await login('announce_one', password)).toBe('28P01');

    // Any later published change carries it: here another tenant's create.
    const other = await create('announce-two', 'announce_two');
    expect(other.status, other.rawBody).toBe(201);
    expect(other.body).not.toHaveProperty('warning');
    await until(async () => (await login('announce_one', password)) === 'ok', 30_000, 'the pooler to serve the tenant after the next publish');
  });

  it('a transient failure is retried: 201 without a warning, and the version is bumped', async () => {
    const before = await t.deps.adapters.config.getConfigVersion();
    failBumps = 2;
    const res = await create('announce-three', 'announce_three');
    expect(res.status, res.rawBody).toBe(201);
    expect(res.body).not.toHaveProperty('warning');
    expect(await t.deps.adapters.config.getConfigVersion()).toBeGreaterThan(before);
  });

  it('rotate-password, PATCH and DELETE answer 2xx with the warning too; the rotated password is the stored one', async () => {
    failBumps = Number.POSITIVE_INFINITY;
    const rotated = await invoke(makeRotate(t.deps), { method: 'POST', path: '/tenants/announce-three/rotate-password', pathParameters: { id: 'announce-three' }, body: {} });
    expectWarned(rotated, 200);
    const stored = await t.deps.adapters.tenants.get('announce-three');
    expect(stored && opens(stored.clientAuth.scram, field<string>(rotated.body, 'password'))).toBe(true);

    const patched = await invoke(makeUpdate(t.deps), { method: 'PATCH', path: '/tenants/announce-three', pathParameters: { id: 'announce-three' }, body: { version: stored!.version, status: 'suspended' } });
    expectWarned(patched, 200);
    expect(field(patched.body, 'status')).toBe('suspended');

    const deleted = await invoke(makeDelete(t.deps), { method: 'DELETE', path: '/tenants/announce-three', pathParameters: { id: 'announce-three' } });
    expectWarned(deleted, 200);
    expect(await t.deps.adapters.tenants.get('announce-three')).toBeUndefined();
    failBumps = 0;
  });

  it('DELETE with purge does not drop data the poolers may still route to: 503, the tenant stays deleting, a repeat finishes', async () => {
    const res = await create('announce-four', 'announce_four');
    expect(res.status).toBe(201);
    failBumps = Number.POSITIVE_INFINITY;
    const refused = await invoke(makeDelete(t.deps), { method: 'DELETE', path: '/tenants/announce-four', pathParameters: { id: 'announce-four' }, query: { purge: 'true' } });
    failBumps = 0;
    expect(refused.status, refused.rawBody).toBe(503);
    expect(field(refused.body, 'error', 'code')).toBe('CONFIG_NOT_PUBLISHED');
    expect((await t.deps.adapters.tenants.get('announce-four'))?.status).toBe('deleting');
    expect(await server.psql(`SELECT count(*) FROM pg_database WHERE datname = '${dest.database}'`)).toBe('1');

    const before = await t.deps.adapters.config.getConfigVersion();
    // Without purge here: the destination role/database are shared with the other tenants of this file.
    const again = await invoke(makeDelete(t.deps), { method: 'DELETE', path: '/tenants/announce-four', pathParameters: { id: 'announce-four' } });
    expect(again.status, again.rawBody).toBe(200);
    expect(again.body).not.toHaveProperty('warning');
    // The resumed delete announces (the first attempt could not).
    expect(await t.deps.adapters.config.getConfigVersion()).toBeGreaterThan(before);
  });

  it('POST /clusters: 201 with the warning when the version cannot be bumped', async () => {
    failBumps = Number.POSITIVE_INFINITY;
    const res = await invoke(makeCreateCluster(t.deps), { method: 'POST', path: '/clusters', body: { clusterId: 'announce-c', kind: 'static', writer: { host: server.host, port: server.port } } });
    failBumps = 0;
    expectWarned(res, 201);
    expect(await t.deps.adapters.config.getClusterTargets('announce-c')).toBeDefined();
  });
});
