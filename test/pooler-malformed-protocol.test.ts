// Malformed protocol input from a raw socket — a bad start-up length, a truncated start-up packet,
// a typed message whose length is below 4, a length above limits.max_message_size (before and after
// login), a random byte stream after login — gets an ErrorResponse with severity FATAL and SQLSTATE
// 08P01 (protocol_violation) and the socket is closed. Meanwhile a well-behaved client sharing the
// tenant's only server connection keeps running queries without a single error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { backgroundErrorsOf, connectPg, endQuietly, within, type PgClient } from './helpers/clients.ts';
import { firstErrorUntilClose, ProtocolClient, startupMessage } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const HANG_MS = 20_000;
const MAX_MESSAGE_SIZE = 64 * 1024;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

// A well-behaved client querying in a loop for the whole file.
let bystander: PgClient | undefined;
let bystanderQueries = 0;
/** The backend serving the bystander's latest query (the tenant's only server connection). */
let bystanderPid = 0;
const bystanderErrors: unknown[] = [];
let stopBystander = false;
let bystanderDone: Promise<void> | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  // One server connection: garbage that reached it would break the bystander's queries.
  tenant = await createTenant(pg, { id: 'garbage-in', pool: { mode: 'transaction', size: 1 } });
  pooler = await startPooler(poolerConfig([tenant.config], { limits: { max_message_size: MAX_MESSAGE_SIZE } }), { logger: testLogger() });
  bystander = await connectPg(poolerConn(pooler, tenant));
  const client = bystander;
  bystanderDone = (async () => {
    while (!stopBystander) {
      try {
        const r = await client.query<{ v: number; pid: number }>('SELECT $1::int AS v, pg_backend_pid() AS pid', [bystanderQueries]);
        if (r.rows[0]?.v !== bystanderQueries) bystanderErrors.push(new Error(`wrong result ${JSON.stringify(r.rows)} for ${bystanderQueries}`));
        bystanderPid = r.rows[0]?.pid ?? 0;
        bystanderQueries++;
      } catch (err) {
        bystanderErrors.push(err);
        return;
      }
    }
  })();
});

afterAll(async () => {
  stopBystander = true;
  await bystanderDone;
  await endQuietly(bystander);
  await pooler?.close();
  await pg?.stop();
});

/** Deterministic pseudo-random bytes (mulberry32), so a failure can be replayed. */
function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** Sends `bytes` (after logging in when asked) and expects FATAL 08P01 followed by a close. */
async function expectProtocolViolation(bytes: Buffer, opts: { login: boolean }): Promise<Record<string, string>> {
  const pidBefore = await currentBystanderPid();
  const conn = await ProtocolClient.open(pooler!.host, pooler!.port);
  try {
    if (opts.login) await conn.login(poolerConn(pooler!, tenant));
    await conn.send(bytes);
    const fields = await within(firstErrorUntilClose(conn), HANG_MS, 'the pooler’s answer to malformed input');
    console.info(`protocol violation answer: ${JSON.stringify(fields)}`);
    expect(fields, 'no ErrorResponse before the close').toBeDefined();
    expect(fields).toMatchObject({ S: 'FATAL', C: '08P01' });
    // 'V' (non-localised severity) exists since protocol 3.0 in PostgreSQL 9.6+; if sent it must agree.
    if (fields?.V !== undefined) expect(fields.V).toBe('FATAL');
    expect(fields?.M?.length ?? 0).toBeGreaterThan(0);
    // firstErrorUntilClose returned, so the socket is closed.
    expect(conn.socket.destroyed || conn.socket.readableEnded).toBe(true);
    await expectBystanderUnharmed();
    // The garbage never reached PostgreSQL: the shared server connection is the same backend.
    expect(bystanderPid, 'the server connection was replaced: the malformed input reached PostgreSQL').toBe(pidBefore);
    return fields ?? {};
  } finally {
    conn.destroy();
  }
}

/** The backend pid the bystander is being served by, once it has run at least one query. */
async function currentBystanderPid(): Promise<number> {
  await within(
    (async () => {
      while (bystanderPid === 0 && bystanderErrors.length === 0) await new Promise((r) => setTimeout(r, 5));
    })(),
    HANG_MS,
    'the bystander’s first query',
  );
  return bystanderPid;
}

/** The bystander keeps getting right answers after the garbage, and never saw an error. */
async function expectBystanderUnharmed(): Promise<void> {
  const before = bystanderQueries;
  await within(
    (async () => {
      while (bystanderQueries < before + 5 && bystanderErrors.length === 0 && !stopBystander) await new Promise((r) => setTimeout(r, 5));
    })(),
    HANG_MS,
    'the bystander’s next queries',
  );
  expect(bystanderErrors).toEqual([]);
  expect(backgroundErrorsOf(bystander!)).toEqual([]);
  expect(bystanderQueries).toBeGreaterThanOrEqual(before + 5);
}

describe('before login', () => {
  it('start-up packet with a length below the minimum', async () => {
    await expectProtocolViolation(int32(2), { login: false });
  });

  it('start-up packet with a huge length', async () => {
    // PostgreSQL caps start-up packets at 10000 bytes (MAX_STARTUP_PACKET_LENGTH).
    await expectProtocolViolation(Buffer.concat([int32(1_000_000), Buffer.from([0, 3, 0, 0]), Buffer.alloc(100, 0x61)]), { login: false });
  });

  it('start-up packet whose parameters are not NUL-terminated', async () => {
    const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from('user')]);
    await expectProtocolViolation(Buffer.concat([int32(body.length + 4), body]), { login: false });
  });

  it('password message longer than the limit during authentication', async () => {
    const conn = await ProtocolClient.open(pooler!.host, pooler!.port);
    try {
      await conn.send(startupMessage({ user: tenant.clientUser, database: tenant.clientDatabase }));
      await within(conn.untilType('R'), HANG_MS, 'the authentication request');
      await conn.send(Buffer.concat([Buffer.from('p'), int32(MAX_MESSAGE_SIZE * 16), Buffer.alloc(64)]));
      const fields = await within(firstErrorUntilClose(conn), HANG_MS, 'the answer to an oversized password message');
      expect(fields).toMatchObject({ S: 'FATAL', C: '08P01' });
      await expectBystanderUnharmed();
    } finally {
      conn.destroy();
    }
  });
});

describe('after login', () => {
  it('typed message with a length of 2', async () => {
    await expectProtocolViolation(Buffer.concat([Buffer.from('Q'), int32(2)]), { login: true });
  });

  it('typed message with a negative length', async () => {
    await expectProtocolViolation(Buffer.concat([Buffer.from('Q'), int32(-1)]), { login: true });
  });

  it('message longer than limits.max_message_size (rejected without waiting for the body)', async () => {
    await expectProtocolViolation(Buffer.concat([Buffer.from('Q'), int32(MAX_MESSAGE_SIZE + 1), Buffer.from('SELECT 1')]), { login: true });
  });

  it.each([1, 2, 3])('random byte stream (seed %i)', async (seed) => {
    const bytes = pseudoRandomBytes(4096, seed);
    // Byte 0 is 0x01, no frontend message type (protocol docs, "Message Formats": B C c d D E f F H
    // p P Q S X), so the stream is invalid from its first message whatever the length says.
    bytes[0] = 0x01;
    await expectProtocolViolation(bytes, { login: true });
  });

  it('a well-framed message of an unknown type (random body)', async () => {
    // Framing alone is fine here; only the type is wrong. It must not reach the shared server
    // connection (PostgreSQL would end that backend with "invalid frontend message type").
    const bytes = pseudoRandomBytes(17, 42);
    bytes[0] = 0x01;
    bytes.writeInt32BE(16, 1);
    await expectProtocolViolation(bytes, { login: true });
  });

  it('still admits and serves a fresh client', async () => {
    await expectBystanderUnharmed();
    const c = await connectPg(poolerConn(pooler!, tenant));
    try {
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [9])).rows).toEqual([{ v: 9 }]);
    } finally {
      await c.end();
    }
  });
});
