// Memory per idle logged-in client: open N client connections that complete authentication and
// then do nothing, and compare the pooler tree's resident set before and after
// ((VmRSS after − VmRSS before) / N, /proc/<pid>/status). Run on a freshly started pooler, so
// buffers freed by an earlier load test cannot hide the cost of new clients; then, after those N
// have gone, N more on the same pooler (the steady-state cost of a further idle client).
import pg from 'pg';
import { trySelectOne, type PoolerProcess } from './pooler-process.ts';
import { treeRssKb } from './proc-stat.ts';
import type { IdleMemoryResult } from './report.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Logins in flight at once: enough to finish 1000 SCRAM handshakes quickly, few enough not to time out. */
const concurrency = 32;

export async function measureIdleMemory(pooler: PoolerProcess, n: number, target: IdleMemoryResult['target']): Promise<IdleMemoryResult> {
  const result: IdleMemoryResult = { target, requested: n, connected: 0 };
  // One full login + query first, so one-off costs (the first server connection, lazily
  // initialised code) are in the "before" figure rather than spread over the N clients.
  try {
    await trySelectOne(pooler.login, 10_000);
  } catch (err) {
    result.error = `warm-up login failed: ${(err as Error).message}`;
    return result;
  }
  await sleep(1000);
  result.rssBeforeKb = treeRssKb(pooler.pid);

  const first = await openIdle(pooler, n);
  result.error = first.error;
  result.connected = first.clients.length;
  result.rssAfterKb = treeRssKb(pooler.pid);
  if (result.connected > 0) result.perClientKb = (result.rssAfterKb - result.rssBeforeKb) / result.connected;
  await closeAll(first.clients);
  // The same again on the now warm pooler. The first N logins also grow a Node pooler's V8 heap
  // (young-generation pages touched for the first time by login garbage, kept afterwards): a
  // one-off that a pooler which has served traffic has already paid. The second pass is what each
  // further idle client costs in steady state; both are reported.
  await sleep(2000);
  result.rssWarmBeforeKb = treeRssKb(pooler.pid);
  const again = await openIdle(pooler, n);
  result.error ??= again.error;
  result.rssWarmAfterKb = treeRssKb(pooler.pid);
  if (again.clients.length > 0) result.warmPerClientKb = (result.rssWarmAfterKb - result.rssWarmBeforeKb) / again.clients.length;
  await closeAll(again.clients);
  return result;
}

/** Opens `n` logged-in clients, `concurrency` logins at a time, then lets the pooler settle. */
async function openIdle(pooler: PoolerProcess, n: number): Promise<{ clients: pg.Client[]; error: string | undefined }> {
  const clients: pg.Client[] = [];
  let error: string | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next += 1;
      const client = new pg.Client({ ...pooler.login, connectionTimeoutMillis: 30_000 });
      client.on('error', () => {}); // a pooler that drops idle clients must not crash the bench
      try {
        await client.connect();
        clients.push(client);
      } catch (err) {
        error ??= (err as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    await sleep(2000); // let the pooler settle (lazy buffers, GC on a Node pooler)
  } catch (err) {
    await closeAll(clients);
    throw err;
  }
  return { clients, error };
}

async function closeAll(clients: readonly pg.Client[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c.end()));
}
