// The BackendKeyData the pooler gives its clients is the only secret a CancelRequest carries
// (protocol docs, "Canceling Requests in Progress"): among many clients connected at once, no two
// share a process id or a secret, so one client cannot cancel another's query by knowing its own.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { ProtocolClient, endAll } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const CLIENTS = 200;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  a = await createTenant(pg, { id: 'keys-a', clientAuth: 'md5' });
  b = await createTenant(pg, { id: 'keys-b', clientAuth: 'md5' });
  pooler = await startPooler(poolerConfig([a.config, b.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

it(`gives ${CLIENTS} clients of two tenants, connected at once, distinct process ids and secrets`, async () => {
  const clients: ProtocolClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i += 10) {
      clients.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => ProtocolClient.connect(poolerConn(pooler!, (i + k) % 2 === 0 ? a : b))))));
    }
    const pids = new Set(clients.map((c) => c.processId));
    const secrets = new Set(clients.map((c) => c.secretKey));
    expect(clients.every((c) => c.processId > 0)).toBe(true);
    expect(pids.size).toBe(CLIENTS);
    // 200 random 31-bit secrets collide with odds of about 1 in 100,000.
    expect(secrets.size).toBe(CLIENTS);
  } finally {
    await endAll(clients);
  }
});
