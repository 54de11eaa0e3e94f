// Memory per idle client (issue 15): a logged-in client that has sent nothing holds none of the
// forwarding machinery — the fast path (with its scanner and server sink), the reply inspector and
// the backpressure state, ≈ 400 bytes of heap together (bench/README.md "Idle footprint"). They are
// made at the client's first use of them, so tens of thousands of idle clients do not pay for them.
// Counted with v8.queryObjects in the pooler's own process (it runs in this test's process).
import { queryObjects } from 'node:v8';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { ClientFlow } from '../../pooler/src/frontend/client-flow.ts';
import { FastPath } from '../../pooler/src/frontend/fast-path.ts';
import { ReplyInspector } from '../../pooler/src/frontend/reply-inspector.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, until, type PgClient } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let tenant: TestTenant;
const clients: PgClient[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'idle-forwarding', pool: { mode: 'transaction', size: 2 } });
  pooler = await startPooler(poolerConfig([tenant.config]), { logger: testLogger() });
});

afterAll(async () => {
  for (const c of clients) await endQuietly(c);
  await pooler?.close();
  await pg?.stop();
});

const count = (ctor: abstract new (...args: never[]) => unknown): number => queryObjects(ctor as never, { format: 'count' }) as number;

it('an idle logged-in client holds no fast path, reply inspector or flow state until it sends something', async () => {
  const N = 12;
  for (let i = 0; i < N; i++) clients.push(await connectPg(poolerConn(pooler!, tenant)));
  await until(() => pooler!.clientList().length === N, 10_000, 'the clients logged in');
  // The pooler's once-a-second client checks (client-timeouts.ts) run over idle clients too: let them.
  await new Promise((r) => setTimeout(r, 2_500));
  // Logged in and idle: none of it exists (queryObjects collects garbage first).
  expect({ fast: count(FastPath), inspector: count(ReplyInspector), flow: count(ClientFlow) }).toEqual({ fast: 0, inspector: 0, flow: 0 });
  // A query makes them, per client that sent it, and it is answered as ever.
  for (const [i, c] of clients.slice(0, 4).entries()) expect((await c.query<{ v: number }>('SELECT $1::int AS v', [i])).rows).toEqual([{ v: i }]);
  expect(count(FastPath)).toBe(4);
  expect(count(ReplyInspector)).toBe(4);
}, 60_000);
