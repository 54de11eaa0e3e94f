// Cancel across pooler processes. Behind a load balancer a client's CancelRequest arrives on a NEW
// connection, which may reach a different pooler process than the one serving the client
// (protocol docs, "Canceling Requests in Progress": the cancel is a separate connection). With
// the processes configured as a cluster (`cluster: { node_id, peers }`), the process that receives
// a cancel key it did not issue forwards it to the peer that did; the running query must end
// with 57014 well before it would finish on its own. A wrong secret still cancels nothing.
// Two `switchyard pooler` child processes share one tenant; the client always talks to node 1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { sendCancel, startPoolerProcess, type PoolerProcess } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, type TestTenant } from './helpers/tenants.ts';

const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const SLEEP_S = 30;
const CANCEL_BOUND_MS = 15_000;

let pg: PostgresServer;
let admin: PgClient;
let dir: string;
const nodes: PoolerProcess[] = [];
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'xcancel-txn', pool: { mode: 'transaction', size: 2 } });
  tenants.session = await createTenant(pg, { id: 'xcancel-session', pool: { mode: 'session', size: 3 } });
  admin = await connectPg(superuserConn(pg));
  dir = mkdtempSync(join(tmpdir(), 'switchyard-xcancel-'));
  const ports = [await freePort(), await freePort()];
  const peers = ports.map((port, i) => ({ node_id: i + 1, host: '127.0.0.1', port }));
  for (const [i, port] of ports.entries()) {
    const config = { ...poolerConfig([tenants.transaction.config, tenants.session.config]), log_level: 'warn', cluster: { node_id: i + 1, peers } };
    nodes.push(await startPoolerProcess(config, dir, port));
  }
});

afterAll(async () => {
  await endQuietly(admin);
  for (const n of nodes) await n.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function keyOf(c: PgClient): { processId: number; secretKey: number } {
  const k = c as unknown as { processID: number | null; secretKey: number | null };
  if (k.processID === null || k.secretKey === null) throw new Error('no BackendKeyData received');
  return { processId: k.processID, secretKey: k.secretKey };
}

async function sleeping(t: TestTenant): Promise<void> {
  await until(
    async () => {
      const r = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
        [t.destination.database],
      );
      return (r.rows[0]?.n ?? 0) > 0;
    },
    10_000,
    'pg_sleep to be running',
  );
}

describe.each(MODES)('%s mode', (mode) => {
  it.each([
    { name: 'simple query', named: false },
    { name: 'named prepared statement', named: true },
  ])('a CancelRequest sent to the other process cancels the $name (57014)', async ({ named }) => {
    const t = tenants[mode];
    const [node1, node2] = [nodes[0]!, nodes[1]!];
    const c = await connectPg(poolerConn(node1, t));
    try {
      const q = named ? { name: 'sleepy', text: 'SELECT pg_sleep($1::float8)', values: [SLEEP_S] } : { text: `SELECT pg_sleep(${SLEEP_S})` };
      const running = rejectionOf(c.query(q));
      await sleeping(t);
      const k = keyOf(c);
      await sendCancel(node2.host, node2.port, k.processId, k.secretKey);
      const err = pgErrorInfo(await within(running, CANCEL_BOUND_MS, 'the query cancelled through the other process to end'));
      expect(err.code, err.message).toBe('57014');
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [3])).rows).toEqual([{ v: 3 }]);
    } finally {
      await endQuietly(c);
    }
  });

  it('a CancelRequest with a wrong secret sent to the other process cancels nothing', async () => {
    const t = tenants[mode];
    const [node1, node2] = [nodes[0]!, nodes[1]!];
    const c = await connectPg(poolerConn(node1, t));
    try {
      const running = c.query<{ done: string }>("SELECT pg_sleep(1.5), 'finished' AS done");
      await sleeping(t);
      const k = keyOf(c);
      await sendCancel(node2.host, node2.port, k.processId, (k.secretKey + 1) | 0);
      const r = await within(running, CANCEL_BOUND_MS, 'the query to finish');
      expect(r.rows[0]?.done).toBe('finished');
    } finally {
      await endQuietly(c);
    }
  });
});
