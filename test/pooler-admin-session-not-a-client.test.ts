// An admin console login becomes an admin session, never a tenant client (frontend/login.ts): it
// is not in SHOW CLIENTS' tenant rows nor in the client gauges, and its end is counted under no
// disconnect reason. A console client that half-closes its side (FIN without closing) has its
// session ended by the pooler — the listener allows half-open sockets (for cancel requests), so
// nothing else would close it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { adminConn, createAdminLogin, type AdminLogin } from './helpers/admin.ts';
import { until } from './helpers/clients.ts';
import { parseExposition } from './helpers/metrics.ts';
import { ProtocolClient } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, testLogger, type TestTenant } from './helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let admin: AdminLogin;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'admin-not-client' });
  admin = await createAdminLogin(pg, 'ops_half_close');
  pooler = await startPooler(poolerConfig([tenant.config], { admin: { users: [admin.config] } }), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

async function samples(name: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  return parseExposition(await pooler!.metricsRegistry().metrics()).samples.filter((s) => s.name === name);
}

it('ends an admin session whose client half-closes, without counting it as a client', async () => {
  const before = await samples('switchyard_client_disconnects_total');
  const console = await ProtocolClient.connect(adminConn(pooler!, admin));
  try {
    expect(await console.simple('SHOW VERSION')).toHaveLength(1);
    expect(pooler!.admin.adminSessionList()).toHaveLength(1);
    expect(pooler!.clientList()).toHaveLength(0);
    const clients = await samples('switchyard_pool_clients');
    expect(clients.every((s) => s.value === 0)).toBe(true);

    // FIN only: the socket stays open for reading, as a half-closing client leaves it.
    console.socket.end();
    const closed = await Promise.race([console.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    expect(closed).toBe(true);
    await until(() => pooler!.admin.adminSessionList().length === 0, 10_000, 'the admin session to end');
  } finally {
    console.destroy();
  }
  expect(await samples('switchyard_client_disconnects_total')).toEqual(before);
});
