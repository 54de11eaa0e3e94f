// Memory per idle client (issue 15): an idle logged-in client's socket carries listener functions
// shared by every client, not closures (plus their contexts and once-wrappers) made per
// connection — tens of thousands of idle clients each paid ~400 bytes of heap for those.
// Checked on the pooler's own client sockets: every logged-in client's socket has the same
// functions for 'data', 'error', 'close' and 'end', and still works and closes cleanly.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until, type PgClient } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;

/** The logged-in clients' sockets (the pooler keeps its clients private: read for the test only). */
function clientSockets(p: Pooler): Socket[] {
  const clients = (p as unknown as { clients: Set<{ socket: Socket }> }).clients;
  return [...clients].map((c) => c.socket);
}

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'idle-closures', pool: { mode: 'transaction', size: 2 } });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe('idle logged-in clients', () => {
  it('share their socket listeners instead of holding closures of their own', async () => {
    const clients: PgClient[] = [];
    try {
      for (let i = 0; i < 3; i++) clients.push(await connectPg(poolerConn(pooler!, tenant)));
      await until(() => clientSockets(pooler!).length === 3, 10_000, 'three clients logged in');
      const sockets = clientSockets(pooler!);
      for (const event of ['data', 'error', 'close', 'end'] as const) {
        const [first, ...rest] = sockets.map((s) => s.listeners(event));
        for (const other of rest) expect(other, `'${event}' listeners`).toEqual(first);
      }
      // Still the client's own bytes and answers.
      for (const [i, c] of clients.entries()) expect((await c.query<{ v: number }>('SELECT $1::int AS v', [i])).rows).toEqual([{ v: i }]);
      await clients[0]!.end();
      clients.shift();
      await until(() => clientSockets(pooler!).length === 2, 10_000, 'the closed client gone');
    } finally {
      await Promise.all(clients.map(endQuietly));
    }
  });
});
