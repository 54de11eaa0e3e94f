// Cancel with `--workers 2`. A CancelRequest comes on a new connection, which the kernel may give
// to either worker (SO_REUSEPORT). Whichever gets it, the pg_sleep ends with 57014 long before it
// would finish: the worker that issued the key cancels directly, the other relays it through the
// supervisor (switchyard_cancel_requests_relayed_total counts those, which tells the two cases
// apart). The test repeats until both cases happened. A wrong secret cancels nothing on either path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeOf } from '../pooler/src/frontend/cancel-keys.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, until, within, type PgClient } from './helpers/clients.ts';
import { scrape, valueOf } from './helpers/metrics.ts';
import { sendCancel } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, type TestTenant } from './helpers/tenants.ts';
import { startWorkersPooler, type WorkersPooler } from './helpers/workers.ts';

const SLEEP_S = 30;
const CANCEL_BOUND_MS = 15_000;
/** Each attempt lands on either worker with even odds: 24 attempts miss a case with odds 2^-23. */
const MAX_ATTEMPTS = 24;

let pg: PostgresServer;
let tenant: TestTenant;
let su: PgClient;
let dir: string;
let pooler: WorkersPooler | undefined;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'wcancel', pool: { mode: 'transaction', size: 4 } });
  su = await connectPg(superuserConn(pg));
  dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-cancel-'));
  pooler = await startWorkersPooler(poolerConfig([tenant.config]), dir, 2);
});

afterAll(async () => {
  await endQuietly(su);
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function keyOf(c: PgClient): { processId: number; secretKey: number } {
  const k = c as unknown as { processID: number | null; secretKey: number | null };
  if (k.processID === null || k.secretKey === null) throw new Error('no BackendKeyData received');
  return { processId: k.processID, secretKey: k.secretKey };
}

async function sleepers(): Promise<number> {
  const r = await su.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
    [tenant.destination.database],
  );
  return r.rows[0]?.n ?? 0;
}

async function relayed(): Promise<number> {
  return valueOf(await scrape(pooler!.metricsPort), 'switchyard_cancel_requests_relayed_total');
}

it('cancels a pg_sleep whichever worker receives the CancelRequest', async () => {
  const seen = { direct: 0, relayed: 0 };
  const nodes = new Set<number>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS && (seen.direct === 0 || seen.relayed === 0); attempt++) {
    const c = await connectPg(poolerConn(pooler!, tenant));
    try {
      const k = keyOf(c);
      nodes.add(nodeOf(k.processId));
      const running = rejectionOf(c.query(`SELECT pg_sleep(${SLEEP_S})`));
      await until(async () => (await sleepers()) > 0, 10_000, 'pg_sleep to be running');
      const before = await relayed();
      await sendCancel(pooler!.host, pooler!.port, k.processId, k.secretKey);
      const err = pgErrorInfo(await within(running, CANCEL_BOUND_MS, 'the cancelled query to end'));
      expect(err.code, err.message).toBe('57014');
      const delta = (await relayed()) - before;
      expect(delta === 0 || delta === 1, `relayed ${delta}`).toBe(true);
      if (delta === 1) seen.relayed++;
      else seen.direct++;
      // The session goes on.
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [7])).rows).toEqual([{ v: 7 }]);
    } finally {
      await endQuietly(c);
    }
  }
  console.info(`cancels: ${JSON.stringify(seen)}, key nodes ${JSON.stringify([...nodes])}`);
  expect(seen.direct).toBeGreaterThan(0);
  expect(seen.relayed).toBeGreaterThan(0);
});

it('a wrong secret cancels nothing, on either path', async () => {
  const c = await connectPg(poolerConn(pooler!, tenant));
  try {
    const k = keyOf(c);
    const running = c.query<{ done: string }>("SELECT pg_sleep(2), 'finished' AS done");
    await until(async () => (await sleepers()) > 0, 10_000, 'pg_sleep to be running');
    // Several sends: with even odds each worker gets some of them.
    for (let i = 0; i < 6; i++) await sendCancel(pooler!.host, pooler!.port, k.processId, (k.secretKey + 1) | 0);
    const r = await within(running, CANCEL_BOUND_MS, 'the query to finish');
    expect(r.rows[0]?.done).toBe('finished');
  } finally {
    await endQuietly(c);
  }
});
