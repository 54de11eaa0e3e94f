// A client may send Terminate right behind a Query without reading its answer (protocol docs,
// "Termination"; libpq's PQsendQuery + PQfinish does). PostgreSQL, and PgBouncer, which reads the
// Terminate only after the Query went to a server, run the Query first. The pooler closed the
// client at the Terminate while the Query still waited for a server connection (queued in
// ClientConnection.forward), dropping it: found pipelining `Query; Terminate` behind the SCRAM
// client-final-message, where the client always waits for its server (frontend/login.ts hands
// the bytes to a client that has none yet), on the synchronous and the awaited login alike. And
// once it had a server, it cancelled a Query still running at the Terminate (abandon.ts), so a
// slow INSERT sent with Terminate behind it was rolled back: now the client closes once the
// answer is in, in transaction and session mode alike.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ScramClientSession } from '../../pooler/src/auth/scram-client.ts';
import * as wire from '../../pooler/src/net/messages.ts';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { within } from '../helpers/clients.ts';
import { ProtocolClient, query, terminate } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type ConnSettings, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'pipelined-terminate' });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

/** SCRAM by hand; the client-final-message and `pipelined` leave in one write; then waits for the close. */
async function loginAndSend(c: ConnSettings, pipelined: Buffer): Promise<void> {
  const client = await ProtocolClient.open(c.host, c.port);
  try {
    await client.send(wire.startupMessage({ user: c.user, database: c.database }));
    const sasl = await client.next();
    expect(sasl?.type).toBe('R');
    const scram = new ScramClientSession(c.password);
    await client.send(wire.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
    const serverFirst = await client.next();
    expect(serverFirst?.type).toBe('R');
    await client.send(wire.saslResponse(await scram.serverFirst(serverFirst!.body.toString('utf8', 4))), pipelined);
    await within(client.drain(), 20_000, 'the close after Terminate');
  } finally {
    client.destroy();
  }
}

async function countOf(c: ConnSettings, tag: string): Promise<number> {
  const check = await ProtocolClient.connect(c);
  try {
    const [[n]] = (await check.simple(`SELECT count(*) FROM pipelined_terminate WHERE tag = '${tag}'`)) as [[string]];
    return Number(n);
  } finally {
    await check.end();
  }
}

it('runs a Query sent with Terminate behind it in the login write, as PostgreSQL does', async () => {
  const c = poolerConn(pooler!, tenant);
  const setup = await ProtocolClient.connect(c);
  await setup.simple('CREATE TABLE pipelined_terminate (tag text)');
  await setup.end();
  // The pool knows its server parameters now: the synchronous login. A second tag for a second try.
  for (const tag of ['first', 'second']) {
    await loginAndSend(c, Buffer.concat([query(`INSERT INTO pipelined_terminate VALUES ('${tag}')`), terminate()]));
    // The INSERT may still be on its way to the server: poll with a deadline.
    const deadline = Date.now() + 15_000;
    let n = await countOf(c, tag);
    while (n === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      n = await countOf(c, tag);
    }
    expect(n, `the INSERT ('${tag}') sent before Terminate`).toBe(1);
  }
}, 90_000);

for (const mode of ['transaction', 'session'] as const) {
  it(`lets a slow Query sent with Terminate behind it finish and commit (${mode} mode), as PostgreSQL does`, async () => {
    const t = await createTenant(pg, { id: `slow-terminate-${mode}`, pool: { mode, size: 2 } });
    await pooler!.reload(poolerConfig([tenant.config, t.config]));
    const c = poolerConn(pooler!, t);
    const client = await ProtocolClient.connect(c);
    await client.simple('CREATE TABLE IF NOT EXISTS pipelined_terminate (tag text)');
    // In one write: a Query that runs for 1 s before it inserts, then Terminate.
    await client.send(Buffer.concat([query(`SELECT pg_sleep(1); INSERT INTO pipelined_terminate VALUES ('slow-${mode}')`), terminate()]));
    await within(client.drain(), 20_000, 'the close after Terminate');
    client.destroy();
    expect(await countOf(c, `slow-${mode}`), 'the slow INSERT sent before Terminate committed').toBe(1);
  }, 60_000);
}
