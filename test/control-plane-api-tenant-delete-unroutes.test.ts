// DELETE /tenants/{id} ends with the row deleted; the poolers must learn of that too. Step 1 of the
// delete announces `deleting` (clients refused with 57P03); the delete of the row must be announced
// as well, or the poolers keep the tenant as `deleting` until some unrelated change is published
// (it was: 57P03 for ever on a quiet fleet, and its pool kept in memory). Checked through a real
// pooler: after the DELETE, with no other change published, a login is refused as for any unknown
// tenant (28P01), and the config version moved twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHandler as makeCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as makeDelete } from '../functions/api/tenants-delete.ts';
import { field, invoke, localTestDeps, type LocalTestDeps } from '../functions/testing/test-deps.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, until } from './helpers/clients.ts';
import { startPoolerProcess, type PoolerProcess } from './helpers/failover-rig.ts';
import { registerStaticCluster } from './helpers/provisioning.ts';
import { createDestination, type Destination } from './helpers/tenants.ts';

let server: PostgresServer;
let t: LocalTestDeps;
let pooler: PoolerProcess | undefined;
let dest: Destination;

beforeAll(async () => {
  server = await startPostgres();
  t = await localTestDeps();
  await registerStaticCluster(t.deps, 'pg', server);
  dest = await createDestination(server, { name: 'unroute_dest' });
  pooler = await startPoolerProcess(t.stateDir);
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await t?.cleanup();
  await server?.stop();
});

async function login(user: string, password: string): Promise<string> {
  try {
    const c = await connectPg({ host: '127.0.0.1', port: pooler!.port, database: 'unroute_app', user, password });
    await endQuietly(c);
    return 'ok';
  } catch (err) {
    return pgErrorInfo(err).code ?? pgErrorInfo(err).message;
  }
}

it('a deleted tenant is unknown to the poolers once the DELETE has answered, without any other change', async () => {
  const created = await invoke(makeCreate(t.deps), {
    method: 'POST',
    path: '/tenants',
    body: { tenantId: 'unroute-me', client: { database: 'unroute_app', user: 'unroute_me' }, destination: { clusterId: 'pg', database: dest.database, user: dest.user, password: dest.password } },
  });
  expect(created.status, created.rawBody).toBe(201);
  const password = field<string>(created.body, 'password');
  await until(async () => (await login('unroute_me', password)) === 'ok', 30_000, 'the pooler to serve the new tenant');

  const before = await t.deps.adapters.config.getConfigVersion();
  const deleted = await invoke(makeDelete(t.deps), { method: 'DELETE', path: '/tenants/unroute-me', pathParameters: { id: 'unroute-me' } });
  expect(deleted.status, deleted.rawBody).toBe(200);
  expect(deleted.body).not.toHaveProperty('warning');
  // `deleting` announced, then the row's removal announced.
  expect(await t.deps.adapters.config.getConfigVersion()).toBe(before + 2);
  let last = '';
  await until(
    async () => (last = await login('unroute_me', password)) === '28P01',
    20_000,
    'the pooler to forget the deleted tenant',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last login answer: ${last}`);
  });
}, 90_000);
