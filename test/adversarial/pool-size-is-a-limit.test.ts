// The pool size is a limit on what runs on the server (issue 10, item 6). A client that
// disconnects in the middle of a query used to free its slot at once while its backend kept
// running the query (PostgreSQL notices a closed socket only when it next reads or writes): with
// pool size 1, fifteen busy backends were seen. Now the query is cancelled and the slot stays
// taken until the backend is idle again (or closed).
// Pool size 1, in both modes; clients start `SELECT pg_sleep(30)` (simple protocol, extended
// protocol without a Sync, two pipelined queries) and vanish. A watcher samples pg_stat_activity
// throughout: never more than one backend for the tenant's role; and a new client is served long
// before the 30 s sleep would have ended.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, within } from '../helpers/clients.ts';
import { MODES, poolerPerMode } from '../helpers/pooler-per-mode.ts';
import { bind, execute, flush, parse, ProtocolClient, query } from '../helpers/raw-protocol.ts';
import { superuserConn } from '../helpers/tenants.ts';

const env = poolerPerMode('limit', { transaction: 1, session: 1 });
const { tenants, pooled } = env;

const SLEEP = 'SELECT pg_sleep(30)';
/** Well below the 30 s sleep: only a cancelled query lets the next client in this soon. */
const SERVED_WITHIN_MS = 15_000;

const ABANDONS: { name: string; bytes: () => Buffer; sleeps: number }[] = [
  { name: 'a simple query', bytes: () => query(SLEEP), sleeps: 1 },
  { name: 'an extended-protocol Execute with no Sync yet', bytes: () => Buffer.concat([parse('', SLEEP), bind('', ''), execute(), flush()]), sleeps: 1 },
  { name: 'two pipelined queries', bytes: () => Buffer.concat([query(SLEEP), query(SLEEP)]), sleeps: 2 },
  // The stream ends in the middle of a message: nothing can be appended, yet the second sleep,
  // already sent, must not run on after the slot is given to the next client.
  { name: 'two pipelined queries and a message cut short', bytes: () => Buffer.concat([query(SLEEP), query(SLEEP), query('SELECT 1').subarray(0, 8)]), sleeps: 2 },
];

/**
 * Samples the tenant role's backends every few ms until stopped: how many exist (any state) and
 * how many are running a sleep; returns the most backends seen at once.
 */
function watchBackends(user: string): { stop(): Promise<number>; sleeping(): number } {
  let max = 0;
  let sleeping = 0;
  let running = true;
  const loop = (async () => {
    const su = await connectPg(superuserConn(env.pg));
    try {
      while (running) {
        const r = await su.query<{ total: number; sleeping: number }>(
          "SELECT count(*)::int AS total, (count(*) FILTER (WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'))::int AS sleeping FROM pg_stat_activity WHERE usename = $1",
          [user],
        );
        sleeping = r.rows[0]!.sleeping;
        max = Math.max(max, r.rows[0]!.total);
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      await endQuietly(su);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return max;
    },
    sleeping: () => sleeping,
  };
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
}

describe.each(MODES)('%s mode, pool size 1', (mode) => {
  it.each(ABANDONS)('a client that vanishes during $name frees its slot only once its backend is free', async ({ bytes, sleeps }) => {
    const t = tenants[mode];
    const watch = watchBackends(t.destination.user);
    const started = Date.now();
    try {
      for (let round = 0; round < 3; round++) {
        // Until the previous round's sleep is gone (a bounded wait: before the fix it ran on).
        await waitFor(() => watch.sleeping() === 0, 10_000);
        const c = await ProtocolClient.connect(pooled(t));
        await c.send(bytes());
        // Until this round's sleep runs on the server.
        await waitFor(() => watch.sleeping() >= 1, 10_000);
        c.destroy();
      }
      // The next client is served once the last abandoned backend has been cancelled.
      const next = await ProtocolClient.connect(pooled(t));
      const rows = await within(next.simple("SELECT 'served'"), SERVED_WITHIN_MS, 'a new client after the abandoned queries');
      expect(rows).toEqual([['served']]);
      await next.end();
    } finally {
      const max = await watch.stop();
      expect(max, `backends of the tenant seen at once (pool size 1, ${sleeps} sleep(s) per client)`).toBeLessThanOrEqual(1);
    }
    expect(Date.now() - started, 'three abandoned 30 s sleeps did not hold the pool for their length').toBeLessThan(30_000);
  });
});
