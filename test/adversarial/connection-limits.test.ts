// Connections that never log in cost the pooler a socket and a login state each, and used to be
// unlimited (issue 10, item 11). limits.max_client_conn caps client connections open at once
// (PgBouncer's max_client_conn) and limits.max_unauthenticated_per_address those of one address
// that have not logged in yet; a refused connection gets FATAL 53300 (too_many_connections, what
// PostgreSQL answers when full) before it is closed, and a metric counts it per limit. Real sockets
// from several loopback addresses, node-postgres, real PostgreSQL.
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { MessageFramer } from '../../pooler/src/net/framer.ts';
import * as wire from '../../pooler/src/net/messages.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, type PgClient } from '../helpers/clients.ts';
import { scrape, valueOr } from '../helpers/metrics.ts';
import { errorFields } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

const WAIT_MS = 20_000;
const MAX_CLIENT_CONN = 6;
const PER_ADDRESS = 3;

let pg: PostgresServer | undefined;
let pooler: Awaited<ReturnType<typeof startPooler>> | undefined;
let tenant: TestTenant;
const sockets: Socket[] = [];
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'conn-limits', pool: { size: 1 } });
  pooler = await startPooler(
    poolerConfig([tenant.config], {
      limits: { max_client_conn: MAX_CLIENT_CONN, max_unauthenticated_per_address: PER_ADDRESS },
      metrics: { host: '127.0.0.1', port: 0 },
    }),
    { logger: testLogger() },
  );
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => endQuietly(c)));
  // Every connection of the test is gone from the pooler's books before the next one starts.
  await until(async () => (await probe('127.0.0.50')) === 'accepted', WAIT_MS, 'the pooler to count the closed connections out');
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

type Verdict = 'accepted' | Record<string, string>;

/**
 * A TCP connection from `from` (a loopback address) that sends an SSLRequest and nothing else: the
 * pooler answers 'N' (no TLS here) when it accepted the connection, or the refusal (an
 * ErrorResponse, then it closes) when a limit refused it. Accepted sockets stay open (the caller's
 * test closes them).
 */
async function open(from: string): Promise<Verdict> {
  const socket = connect({ host: pooler!.host, port: pooler!.port, localAddress: from });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  const verdict = new Promise<Verdict>((resolve) => {
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (chunks.length === 1 && d[0] === 0x4e /* N */) resolve('accepted');
    });
    socket.once('close', () => {
      const f = new MessageFramer(1 << 20);
      f.push(Buffer.concat(chunks));
      const m = f.next();
      resolve(m?.type === 0x45 && f.next() === undefined ? errorFields(m.body) : { closed: Buffer.concat(chunks).toString('latin1') });
    });
  });
  socket.once('connect', () => socket.write(wire.sslRequest()));
  return Promise.race([verdict, new Promise<never>((_r, rej) => setTimeout(() => rej(new Error(`no answer on a connection from ${from}`)), WAIT_MS))]);
}

/** open(), then closes it again. */
async function probe(from: string): Promise<Verdict> {
  const v = await open(from);
  sockets.pop()?.destroy();
  return v;
}

async function refused(limit: string): Promise<number> {
  return valueOr(await scrape(pooler!.metricsPort), 'switchyard_client_connections_refused_total', { limit }, 0);
}

describe('limits.max_unauthenticated_per_address', () => {
  it('refuses the 4th connection of an address that has not logged in with FATAL 53300; other addresses are not affected', async () => {
    for (let i = 0; i < PER_ADDRESS; i++) expect(await open('127.0.0.2')).toBe('accepted');
    const before = await refused('max_unauthenticated_per_address');
    expect(await open('127.0.0.2')).toEqual({
      S: 'FATAL',
      V: 'FATAL',
      C: '53300',
      M: `too many connections from this address that have not logged in yet (limits.max_unauthenticated_per_address ${PER_ADDRESS})`,
    });
    expect(await refused('max_unauthenticated_per_address')).toBe(before + 1);
    expect(await open('127.0.0.3')).toBe('accepted');
    // Closing one frees its slot.
    sockets[0]!.destroy();
    await until(async () => (await probe('127.0.0.2')) === 'accepted', WAIT_MS, 'a slot for 127.0.0.2 again');
  });

  it('a client that has logged in no longer counts; a driver over the limit gets 53300', async () => {
    // node-postgres connects from 127.0.0.1.
    const logged = await connectPg(poolerConn(pooler!, tenant));
    clients.push(logged);
    for (let i = 0; i < PER_ADDRESS; i++) expect(await open('127.0.0.1')).toBe('accepted');
    const err = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, tenant))));
    expect(err).toMatchObject({ code: '53300', severity: 'FATAL' });
    expect(err.message).toMatch(/limits\.max_unauthenticated_per_address/);
    expect((await logged.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

describe('limits.max_client_conn', () => {
  it('refuses a connection beyond the cap, logged in or not, with FATAL 53300, and admits again when one closes', async () => {
    const logged = await connectPg(poolerConn(pooler!, tenant));
    clients.push(logged);
    for (let i = 1; i < MAX_CLIENT_CONN; i++) expect(await open(`127.0.1.${i}`)).toBe('accepted');
    const before = await refused('max_client_conn');
    expect(await open('127.0.2.1')).toMatchObject({ S: 'FATAL', C: '53300', M: `sorry, too many clients already (limits.max_client_conn ${MAX_CLIENT_CONN})` });
    const err = pgErrorInfo(await rejectionOf(connectPg(poolerConn(pooler!, tenant))));
    expect(err).toMatchObject({ code: '53300', severity: 'FATAL' });
    expect(await refused('max_client_conn')).toBe(before + 2);
    // The clients inside are served.
    expect((await logged.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    sockets[0]!.destroy();
    await until(async () => (await probe('127.0.2.1')) === 'accepted', WAIT_MS, 'a free slot');
  });

  it('a refused connection is closed within a bound even if its peer keeps it busy', async () => {
    // Refused connections are not counted: if a peer could keep one open (half-open, trickling a
    // byte now and then so an idle timer never fires), it could hold descriptors past the cap.
    for (let i = 0; i < MAX_CLIENT_CONN; i++) expect(await open(`127.0.3.${i + 1}`)).toBe('accepted');
    const s = connect({ host: pooler!.host, port: pooler!.port, localAddress: '127.0.4.1', allowHalfOpen: true });
    sockets.push(s);
    s.on('error', () => undefined);
    let closed = false;
    s.once('close', () => (closed = true));
    const trickle = setInterval(() => s.writable && s.write(Buffer.from([0])), 200);
    try {
      await until(async () => closed, WAIT_MS, 'the pooler to close the refused connection');
    } finally {
      clearInterval(trickle);
    }
  });
});
