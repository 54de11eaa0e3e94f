// libpq's PQsendQuery then PQfinish: Query, Terminate, and the socket closed at once. PostgreSQL
// reads the Query and the Terminate before it notices the close, runs the Query and commits it.
// The pooler paused the client at the Terminate (client.ts terminate), but a large Query fills the
// server socket: its 'drain' resumed the client (client-flow.ts serverFull), whose EOF then closed
// it as 'client_close' with the Query outstanding, so abandon.ts cancelled it and rolled it back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { ProtocolClient, query, terminate } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'terminate-then-close' });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
}, 60_000);

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

for (const mode of ['transaction', 'session'] as const) {
  it(`commits a large Query sent with Terminate by a client that closes at once (${mode} mode)`, async () => {
    const t = await createTenant(pg, { id: `terminate-then-close-${mode}`, pool: { mode, size: 2 } });
    await pooler!.reload(poolerConfig([tenant.config, t.config]));
    const c = poolerConn(pooler!, t);
    const setup = await ProtocolClient.connect(c);
    await setup.simple('CREATE TABLE IF NOT EXISTS terminate_then_close (tag text)');
    await setup.end();
    // 8 MB of statement: more than the server socket takes at once.
    const big = 'x'.repeat(8 << 20);
    const client = await ProtocolClient.connect(c);
    await client.send(Buffer.concat([query(`INSERT INTO terminate_then_close SELECT '${mode}' WHERE length('${big}') > 0`), terminate()]));
    client.destroy();
    const check = await ProtocolClient.connect(c);
    try {
      // The INSERT runs after the client is gone: poll for it with a deadline (cancelled, it never comes).
      const count = async (): Promise<number> => Number(((await check.simple(`SELECT count(*) FROM terminate_then_close WHERE tag = '${mode}'`)) as [[string]])[0][0]);
      const deadline = Date.now() + 20_000;
      let n = await count();
      while (n === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        n = await count();
      }
      expect(n, `the INSERT sent before Terminate; disconnects ${JSON.stringify([...pooler!.disconnectCounts()])}`).toBe(1);
    } finally {
      await check.end();
    }
  }, 60_000);
}
