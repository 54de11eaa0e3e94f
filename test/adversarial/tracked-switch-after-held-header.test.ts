// A transaction-mode client switches to tracked mode at its first named Parse, re-framing the
// current chunk from its start. When the previous read ended exactly after a message's 5-byte
// header, the pooler holds that header back (`carry`: it may still be a message it intercepts)
// while the scanner already counts the message's body as begun. The chunk then begins with the
// body of a message whose START WAS NOT SENT: it must be re-framed together with the held header,
// not forwarded ahead of it as "the tail of a message already sent" (tracked-switch-mid-message).
// Forwarded ahead, the server reads a Parse's statement name and SQL text as message headers —
// bytes the client chose, reaching the server unframed by the pooler.
// Both the named Parse itself and a Query before it, with a server connection linked and while
// waiting for one (pool size 1, held by another client); a few pauses between the writes, so that
// at least one of them is seen as two reads on a loaded machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { within } from '../helpers/clients.ts';
import { ProtocolClient, parse, query, startPoolerProcess, summarizeAll, sync, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let tenant: TestTenant;

const PAUSES_MS = [20, 100, 300];

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'tracked-held', pool: { mode: 'transaction', size: 1 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-tracked-held-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenant.config]), log_level: 'warn' }, dir);
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sends `first`, waits, sends `second` (while `holder` keeps the only server connection); the replies up to `readies` ReadyForQuery. */
async function run(first: Buffer, second: Buffer, readies: number, pauseMs: number, holder: ProtocolClient | null): Promise<string[]> {
  const c = await ProtocolClient.connect(poolerConn(pooler, tenant));
  try {
    if (holder !== null) expect(summarizeAll(await holder.request(query('BEGIN')))).toEqual(['C:BEGIN', 'Z:T']);
    await c.send(first);
    await delay(pauseMs);
    await c.send(second);
    if (holder !== null) {
      await delay(pauseMs);
      expect(summarizeAll(await holder.request(query('COMMIT')))).toEqual(['C:COMMIT', 'Z:I']);
    }
    const msgs = await within(c.untilReady(readies), 20_000, 'replies');
    expect(await c.simple('SELECT 41 + 1')).toEqual([['42']]);
    return summarizeAll(msgs).map((s) => (s.startsWith('D:') || s.startsWith('T:') ? s[0]! : s));
  } catch (err) {
    throw new Error(`${String(err)}\n${pooler.output()}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

for (const waiting of [false, true]) {
  describe(`a read ending right after a message header, then a named Parse (${waiting ? 'waiting for a server connection' : 'server connection linked'})`, () => {
    it('the named Parse itself: its header alone, then its body', async () => {
      const holder = waiting ? await ProtocolClient.connect(poolerConn(pooler, tenant)) : null;
      try {
        for (const pauseMs of PAUSES_MS) {
          const p = parse(`held_${pauseMs}`, "SELECT 'not a message header' AS text");
          const replies = await run(p.subarray(0, 5), Buffer.concat([p.subarray(5), sync()]), 1, pauseMs, holder);
          expect(replies, `pause ${pauseMs} ms`).toEqual(['1', 'Z:I']);
        }
      } finally {
        await holder?.end();
      }
    }, 90_000);

    it('a Query before it: the Query header alone, then its body and the named Parse', async () => {
      const holder = waiting ? await ProtocolClient.connect(poolerConn(pooler, tenant)) : null;
      try {
        for (const pauseMs of PAUSES_MS) {
          const q = query('SELECT 7');
          const replies = await run(q.subarray(0, 5), Buffer.concat([q.subarray(5), parse(`after_q_${pauseMs}`, 'SELECT 1'), sync()]), 2, pauseMs, holder);
          expect(replies, `pause ${pauseMs} ms`).toEqual(['T', 'D', 'C:SELECT 1', 'Z:I', '1', 'Z:I']);
        }
      } finally {
        await holder?.end();
      }
    }, 90_000);
  });
}
