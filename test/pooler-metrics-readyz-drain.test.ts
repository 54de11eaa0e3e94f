// /readyz tells a load balancer whether to send new connections: 200 while the pooler listens,
// 503 as soon as it drains (SIGTERM / SHUTDOWN / close()), while /healthz stays 200 (the process
// is alive and finishing transactions). When the drain is over the endpoint closes with the pooler.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, rejectionOf, within, type PgClient } from './helpers/clients.ts';
import { httpGet, scrape, valueOf } from './helpers/metrics.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
let client: PgClient | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'drain-ready' });
  pooler = await startPooler(poolerConfig([tenant.config], { metrics: { port: 0 }, limits: { shutdown_timeout: 60 } }), { logger: testLogger() });
});

afterAll(async () => {
  await endQuietly(client);
  await pooler?.close(0);
  await pg?.stop();
});

it('answers 200, then 503 while draining, then stops with the pooler', async () => {
  const port = pooler!.metricsPort;
  expect((await httpGet(port, '/readyz')).status).toBe(200);

  // A transaction keeps the drain going until it commits.
  client = await connectPg(poolerConn(pooler!, tenant));
  await client.query('BEGIN');
  await client.query('SELECT 1');
  const closing = pooler!.close();

  const ready = await httpGet(port, '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body).toContain('draining');
  expect((await httpGet(port, '/healthz')).status).toBe(200);
  expect(valueOf(await scrape(port), 'switchyard_draining')).toBe(1);

  await client.query('COMMIT');
  await within(closing, HANG_MS, 'the drain after COMMIT');
  await within(pooler!.whenClosed(), HANG_MS, 'whenClosed after close()');
  const refused = (await rejectionOf(httpGet(port, '/readyz'))) as NodeJS.ErrnoException;
  expect(refused.code).toBe('ECONNREFUSED');
});
