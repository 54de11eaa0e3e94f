// A client that sends its first Query in the same write as its SCRAM client-final-message (before
// it has seen AuthenticationOk) gets the login's answer and then the Query's: the bytes after the
// SASLResponse are handed to the logged-in client, not lost nor read as part of the login.
// frontend/login.ts ends a login in two ways — synchronously when the tenant's pool already knows
// its servers' ParameterStatus values, or after the pool's first server connection — and both
// hand over what the client sent meanwhile (protocol docs, "Start-up": the client waits for
// ReadyForQuery only by convention; a pipelining client may send at once).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ScramClientSession } from '../pooler/src/auth/scram-client.ts';
import * as wire from '../pooler/src/net/messages.ts';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { within } from './helpers/clients.ts';
import { ProtocolClient, query, rows, type Msg } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type ConnSettings, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'pipelined-login' });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

async function nextOf(client: ProtocolClient, type: string): Promise<Msg> {
  const m = await client.next();
  if (m === undefined) throw new Error(`connection closed, expected "${type}"`);
  if (m.type !== type) throw new Error(`expected "${type}", got "${m.type}": ${m.body.toString('latin1')}`);
  return m;
}

/** SCRAM by hand; the client-final-message and `pipelined` leave in one write. Returns every message after it, through the second ReadyForQuery. */
async function loginWith(c: ConnSettings, pipelined: Buffer): Promise<string[] & { rows: (string | null)[][] }> {
  const client = await ProtocolClient.open(c.host, c.port);
  try {
    await client.send(wire.startupMessage({ user: c.user, database: c.database }));
    await nextOf(client, 'R'); // AuthenticationSASL
    const scram = new ScramClientSession(c.password);
    await client.send(wire.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
    const serverFirst = await nextOf(client, 'R');
    await client.send(wire.saslResponse(await scram.serverFirst(serverFirst.body.toString('utf8', 4))), pipelined);
    const msgs = await client.untilReady(2);
    const types = msgs.map((m) => (m.type === 'R' ? `R${m.body.readInt32BE(0)}` : m.type)) as string[] & { rows: (string | null)[][] };
    types.rows = rows(msgs);
    return types;
  } finally {
    client.destroy();
  }
}

it('answers a Query sent with the SASLResponse, on the first login (pool without server parameters yet) and on later ones', async () => {
  const c = poolerConn(pooler!, tenant);
  for (const attempt of ['first', 'second', 'third']) {
    const got = await within(loginWith(c, query(`SELECT '${attempt}'`)), 15_000, `the ${attempt} login and its Query`);
    // SASLFinal, AuthenticationOk, ParameterStatus…, BackendKeyData, ReadyForQuery, then the Query's answer.
    const afterStatus = got.slice(got.lastIndexOf('S') + 1);
    expect(got.slice(0, 3), attempt).toEqual(['R12', 'R0', 'S']);
    expect(afterStatus, attempt).toEqual(['K', 'Z', 'T', 'D', 'C', 'Z']);
    expect(got.rows, attempt).toEqual([[attempt]]);
  }
}, 60_000);
