// The pooler's per-server statement cache (config `prepared_statements.cache_size`) under many
// distinct statements: one client prepares and runs 1000 distinct named statements, in pipelines
// of 50 per Sync, with a cache of 10 per server connection, while a second client with the same
// statement names (other texts) takes turns on the one server connection. The server must never
// hold more than the cache size of the pooler's statements (evicted ones are closed), and every
// statement — evicted or not — must still run with its own text when the client binds it again
// (the pooler re-prepares it), in any order, and Describe must describe it.
// In session mode statements pass straight through (the client owns its server connection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../pooler/src/index.ts';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { bind, describe as describeMsg, endAll, errorCodes, execute, parse, ProtocolClient, rows, summarizeAll, sync } from './helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const CACHE_SIZE = 10;
const STATEMENTS = 1000;
const BATCH = 50;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'lru-txn', pool: { mode: 'transaction', size: 1 } });
  tenants.session = await createTenant(pg, { id: 'lru-session', pool: { mode: 'session', size: 2 } });
  const config = poolerConfig([tenants.transaction.config, tenants.session.config], { prepared_statements: { cache_size: CACHE_SIZE } });
  // The schema must know the key (it is top-level: `prepared_statements: { cache_size }`).
  expect(configSchema.parse(config).prepared_statements.cache_size).toBe(CACHE_SIZE);
  pooler = await startPooler(config, { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

const text = (who: string, i: number): string => `SELECT $1::int + ${i} AS v${i}, '${who}-${i}'::text AS who`;

/** P (optional) B E for statements `ids` of client `who`, one Sync at the end. */
function batch(ids: number[], withParse: boolean, who: string, arg: number): Buffer {
  const parts: Buffer[] = [];
  for (const i of ids) {
    if (withParse) parts.push(parse(`s${i}`, text(who, i)));
    parts.push(bind('', `s${i}`, [String(arg)]), execute());
  }
  parts.push(sync());
  return Buffer.concat(parts);
}

function expected(ids: number[], who: string, arg: number): string[][] {
  return ids.map((i) => [String(arg + i), `${who}-${i}`]);
}

/** Deterministic shuffle (a fixed LCG), so a failure reproduces. */
function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe.each(MODES)('%s mode', (mode) => {
  it(`${STATEMENTS} distinct statements with cache_size ${CACHE_SIZE}: bounded on the server, all still runnable`, async () => {
    const t = tenants[mode];
    const clients: ProtocolClient[] = [];
    try {
      const a = await ProtocolClient.connect(poolerConn(pooler!, t));
      const b = await ProtocolClient.connect(poolerConn(pooler!, t));
      const watcher = await ProtocolClient.connect(poolerConn(pooler!, t));
      clients.push(a, b, watcher);
      const serverCounts: number[] = [];
      // The pooler's statements on the (one) server connection, seen from a client that has none.
      const countOnServer = async (): Promise<number> => Number((await watcher.simple('SELECT count(*) FROM pg_prepared_statements'))[0]?.[0]);

      // 1. Prepare and run all of them, 50 per pipeline; b interleaves with its own s0..s49.
      for (let start = 0; start < STATEMENTS; start += BATCH) {
        const ids = Array.from({ length: BATCH }, (_, k) => start + k);
        const r = await a.request(batch(ids, true, 'a', 1));
        expect(errorCodes(r), `batch at ${start}: ${summarizeAll(r).filter((s) => s.startsWith('E')).join('; ')}`).toEqual([]);
        expect(rows(r)).toEqual(expected(ids, 'a', 1));
        // b: its s0..s49 five at a time — prepared in the first ten rounds, re-bound afterwards.
        const first = (start / BATCH) * 5;
        const bIds = Array.from({ length: 5 }, (_, k) => (first + k) % BATCH);
        const rb = await b.request(batch(bIds, first < BATCH, 'b', 2));
        expect(errorCodes(rb)).toEqual([]);
        expect(rows(rb)).toEqual(expected(bIds, 'b', 2));
        if (mode === 'transaction') serverCounts.push(await countOnServer());
      }
      if (mode === 'transaction') {
        expect(Math.max(...serverCounts), `statements on the server after each batch: ${serverCounts.join(',')}`).toBeLessThanOrEqual(CACHE_SIZE);
        // …and it is a cache: within a transaction the statements stay prepared, bounded. (Between
        // transactions the reset, DISCARD ALL, drops them; the pooler prepares them again.)
        const ids = Array.from({ length: 2 * CACHE_SIZE }, (_, k) => k);
        const parts: Buffer[] = [];
        for (const i of ids) parts.push(bind('', `s${i}`, ['3']), execute());
        parts.push(parse('', 'SELECT count(*) FROM pg_prepared_statements'), bind('', ''), execute(), sync());
        const r = await a.request(Buffer.concat(parts));
        expect(errorCodes(r)).toEqual([]);
        const inTransaction = Number(rows(r).at(-1)?.[0]);
        expect(inTransaction, 'statements prepared on the server within one pipeline').toBeLessThanOrEqual(CACHE_SIZE);
        expect(inTransaction, 'no statement stayed prepared within the pipeline').toBeGreaterThan(0);
      }

      // 2. Run all of a's statements again by name only, in a shuffled order.
      const order = shuffled(STATEMENTS);
      for (let start = 0; start < STATEMENTS; start += BATCH) {
        const ids = order.slice(start, start + BATCH);
        const r = await a.request(batch(ids, false, 'a', 100));
        expect(errorCodes(r), `re-run at ${start}: ${summarizeAll(r).filter((s) => s.startsWith('E')).join('; ')}`).toEqual([]);
        expect(rows(r)).toEqual(expected(ids, 'a', 100));
      }
      if (mode === 'transaction') expect(await countOnServer()).toBeLessThanOrEqual(CACHE_SIZE);

      // 3. Describe of long-evicted statements describes them.
      const d = await a.request(describeMsg('S', 's0'), describeMsg('S', 's999'), sync());
      expect(summarizeAll(d)).toEqual(['t:23', 'T:v0/23,who/25', 't:23', 'T:v999/23,who/25', 'Z:I']);
      // b's statements of the same names are still b's.
      const rb = await b.request(batch([0, 49], false, 'b', 7));
      expect(rows(rb)).toEqual(expected([0, 49], 'b', 7));
    } finally {
      await endAll(clients);
    }
  });
});
