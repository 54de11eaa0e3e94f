// Terminate behind outstanding work (client.ts terminate) defers the close until that work is
// answered. Every way the work can end must then close the client: an extended batch without Sync
// gets no answer at all (PostgreSQL ends the session at the Terminate and rolls it back); a
// checkout that times out, or a server connection lost mid-query, answers the client with the
// pooler's own replies rather than a server's. Each left the client open forever (state IDLE,
// ACTIVE holding its server, or LOST), reading nothing, until the client went away.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { WAITING } from '../../pooler/src/frontend/client-state.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { until, within } from '../helpers/clients.ts';
import { bind, execute, parse, ProtocolClient, query, sync, terminate } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, testLogger, type ConnSettings, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let tenant: TestTenant;
let small: TestTenant;
let one: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'terminate-closes', pool: { size: 4 } });
  small = await createTenant(pg, { id: 'terminate-closes-small', pool: { size: 1, checkout_timeout: 1 } });
  one = await createTenant(pg, { id: 'terminate-closes-one', pool: { size: 1 } });
  pooler = await startPooler(poolerConfig([tenant.config, small.config, one.config]), { logger: testLogger() });
  for (const t of [tenant, one]) {
    const setup = await ProtocolClient.connect(poolerConn(pooler, t));
    await setup.simple('CREATE TABLE terminate_closes (tag text)');
    await setup.end();
  }
}, 60_000);

afterAll(async () => {
  // No client of these was left open (a client that sent Terminate stays in the list until closed).
  if (pooler !== undefined) await until(() => pooler!.clientList().length === 0, 15_000, 'every client closed');
  await pooler?.close();
  await pg?.stop();
});

async function countOf(c: ConnSettings, tag: string): Promise<number> {
  const check = await ProtocolClient.connect(c);
  try {
    const [[n]] = (await check.simple(`SELECT count(*) FROM terminate_closes WHERE tag = '${tag}'`)) as [[string]];
    return Number(n);
  } finally {
    await check.end();
  }
}

/** Sends `bytes` (ending in Terminate) and waits for the pooler to close the connection. */
async function sendAndAwaitClose(client: ProtocolClient, bytes: Buffer, what: string): Promise<void> {
  await client.send(bytes);
  try {
    await within(client.drain(), 15_000, what);
  } finally {
    client.destroy();
  }
}

it('closes at once, rolled back, on an unnamed extended batch without Sync, then Terminate', async () => {
  const c = poolerConn(pooler!, tenant);
  const client = await ProtocolClient.connect(c);
  const batch = Buffer.concat([parse('', "INSERT INTO terminate_closes VALUES ('unsynced-unnamed')"), bind('', ''), execute(''), terminate()]);
  await sendAndAwaitClose(client, batch, 'the close after an unsynced batch and Terminate');
  expect(await countOf(c, 'unsynced-unnamed')).toBe(0);
}, 60_000);

it('closes at once, rolled back, on a named (prepared session) batch without Sync, then Terminate', async () => {
  const c = poolerConn(pooler!, tenant);
  const client = await ProtocolClient.connect(c);
  // A named statement first: the client's prepared session starts (transaction mode).
  await client.request(parse('s1', 'SELECT 1'), bind('', 's1'), execute(''), sync());
  const batch = Buffer.concat([parse('s2', "INSERT INTO terminate_closes VALUES ('unsynced-named')"), bind('', 's2'), execute(''), terminate()]);
  await sendAndAwaitClose(client, batch, 'the close after an unsynced named batch and Terminate');
  expect(await countOf(c, 'unsynced-named')).toBe(0);
}, 60_000);

it('closes, rolled back, an unsynced batch then Terminate that waited for its server connection', async () => {
  const c = poolerConn(pooler!, one);
  const holder = await ProtocolClient.connect(c);
  await holder.simple('BEGIN');
  const client = await ProtocolClient.connect(c);
  const batch = Buffer.concat([parse('', "INSERT INTO terminate_closes VALUES ('unsynced-waited')"), bind('', ''), execute(''), terminate()]);
  await client.send(batch);
  await until(() => pooler!.clientList().some((cl) => cl.route?.id === one.id && cl.state === WAITING), 15_000, 'the client waiting');
  await holder.simple('COMMIT');
  try {
    await within(client.drain(), 15_000, 'the close after the unsynced batch got its server');
  } finally {
    client.destroy();
    await holder.end();
  }
  expect(await countOf(c, 'unsynced-waited')).toBe(0);
}, 60_000);

it('closes a client whose Query behind which it sent Terminate times out waiting for a server', async () => {
  const c = poolerConn(pooler!, small);
  const holder = await ProtocolClient.connect(c);
  await holder.simple('BEGIN');
  const client = await ProtocolClient.connect(c);
  try {
    await sendAndAwaitClose(client, Buffer.concat([query('SELECT 1'), terminate()]), 'the close after a checkout timeout');
  } finally {
    await holder.simple('COMMIT');
    await holder.end();
  }
}, 60_000);

for (const inTransaction of [false, true]) {
  it(`closes a client whose server is lost under the Query it sent Terminate behind (${inTransaction ? 'in a transaction' : 'autocommit'})`, async () => {
    const c = poolerConn(pooler!, tenant);
    const client = await ProtocolClient.connect(c);
    if (inTransaction) await client.simple('BEGIN');
    const marker = `lost_${inTransaction ? 'tx' : 'auto'}_${Date.now()}`;
    await client.send(Buffer.concat([query(`SELECT pg_sleep(30) AS ${marker}`), terminate()]));
    const admin = await ProtocolClient.connect(superuserConn(pg));
    try {
      await until(
        async () => {
          const r = await admin.simple(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%AS ${marker}' AND pid <> pg_backend_pid()`);
          return r.length > 0;
        },
        15_000,
        'the sleeping query on the server',
      );
    } finally {
      await admin.end();
    }
    try {
      await within(client.drain(), 15_000, 'the close after the server was lost');
    } finally {
      client.destroy();
    }
  }, 60_000);
}
