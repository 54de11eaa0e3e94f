// Every login the pooler refuses is counted in switchyard_client_disconnects_total under the
// reason of its error (pooler/src/errors.ts: each catalogue entry carries its disconnect reason;
// docs/metrics.md, docs/errors.md), not as protocol_violation: the tenant's max_clients is
// too_many_clients, an unknown (database, user) pair is tenant_unknown (the client still sees the
// same 28P01 as for a wrong password), a suspended tenant tenant_suspended, a replication
// connection unsupported_feature. A wrong password stays auth_failed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler, type Pooler } from '../pooler/src/pooler.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, type PgClient } from './helpers/clients.ts';
import { parseExposition } from './helpers/metrics.ts';
import { LoginRefused, ProtocolClient } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Pooler | undefined;
let capped: TestTenant;
let suspended: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  capped = await createTenant(pg, { id: 'reason-capped', pool: { mode: 'transaction', size: 1, max_clients: 1 } });
  suspended = await createTenant(pg, { id: 'reason-suspended' });
  pooler = await startPooler(poolerConfig([capped.config, { ...suspended.config, status: 'suspended' }]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

async function disconnects(): Promise<Map<string, number>> {
  const text = await pooler!.metricsRegistry().metrics();
  const out = new Map<string, number>();
  for (const s of parseExposition(text).samples) if (s.name === 'switchyard_client_disconnects_total') out.set(s.labels.reason!, s.value);
  return out;
}

/** Runs `refuse` (which must end in a refused login) and returns the disconnect reasons it added. */
async function reasonsOf(refuse: () => Promise<void>): Promise<Record<string, number>> {
  const before = await disconnects();
  await refuse();
  let added: Record<string, number> = {};
  // The count is taken when the pooler closes the socket: poll rather than assume it is done.
  await until(
    async () => {
      const after = await disconnects();
      added = {};
      for (const [reason, n] of after) if (n !== (before.get(reason) ?? 0)) added[reason] = n - (before.get(reason) ?? 0);
      return Object.keys(added).length > 0;
    },
    10_000,
    'the refused login to be counted',
  );
  return added;
}

async function refusedWith(code: string, login: Promise<unknown>): Promise<void> {
  const err = pgErrorInfo(await rejectionOf(login));
  expect(err).toMatchObject({ code, severity: 'FATAL' });
}

it('counts a login past the tenant max_clients as too_many_clients', async () => {
  let first: PgClient | undefined;
  try {
    first = await connectPg(poolerConn(pooler!, capped));
    const added = await reasonsOf(() => refusedWith('53300', connectPg(poolerConn(pooler!, capped))));
    expect(added).toEqual({ too_many_clients: 1 });
  } finally {
    await endQuietly(first);
  }
});

it('counts an unknown (database, user) pair as tenant_unknown while the client sees 28P01', async () => {
  const added = await reasonsOf(() => refusedWith('28P01', connectPg(poolerConn(pooler!, capped, { database: 'no_such_db', user: 'no_such_user' }))));
  expect(added).toEqual({ tenant_unknown: 1 });
});

it('counts a wrong password as auth_failed', async () => {
  const added = await reasonsOf(() => refusedWith('28P01', connectPg(poolerConn(pooler!, capped, { password: 'not-the-password' }))));
  expect(added).toEqual({ auth_failed: 1 });
});

it('counts a login to a suspended tenant as tenant_suspended', async () => {
  const added = await reasonsOf(() => refusedWith('57P03', connectPg(poolerConn(pooler!, suspended))));
  expect(added).toEqual({ tenant_suspended: 1 });
});

it('counts a replication connection as unsupported_feature', async () => {
  const added = await reasonsOf(async () => {
    const err = await rejectionOf(ProtocolClient.connect(poolerConn(pooler!, capped), { replication: 'database' }));
    expect(err).toBeInstanceOf(LoginRefused);
    expect((err as LoginRefused).fields.C).toBe('0A000');
  });
  expect(added).toEqual({ unsupported_feature: 1 });
});
