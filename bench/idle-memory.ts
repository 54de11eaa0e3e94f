// Memory per idle logged-in client: open N client connections that complete authentication and
// then do nothing, and compare the pooler tree's resident set before and after
// ((VmRSS after − VmRSS before) / N, /proc/<pid>/status). Run on a freshly started pooler, so
// buffers freed by an earlier load test cannot hide the cost of new clients.
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

  const clients: pg.Client[] = [];
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
        result.error ??= (err as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    await sleep(2000); // let the pooler settle (lazy buffers, GC on a Node pooler)
    result.connected = clients.length;
    result.rssAfterKb = treeRssKb(pooler.pid);
    if (result.connected > 0) result.perClientKb = (result.rssAfterKb - result.rssBeforeKb) / result.connected;
  } finally {
    await Promise.allSettled(clients.map((c) => c.end()));
  }
  return result;
}
