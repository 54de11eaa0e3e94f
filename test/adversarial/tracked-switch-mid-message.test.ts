// A transaction-mode client switches to tracked mode at its first named Parse, and tracked mode
// re-frames the current chunk from its start. Two things may have gone before that chunk:
// - the header and first body bytes of a message, in the previous read: the chunk then BEGINS with
//   that message's tail, which must follow its start and not be framed as a message of its own
//   (it was: FATAL 08P01 "message of 2021161080 bytes exceeds the limit");
// - whole messages queued while the client waited for a server connection: they must still be
//   sent, before the tracked session's own (they were dropped, and the client waited for ever).
// Both with a server connection linked and while waiting for one (pool size 1, held by another
// client). The split must fall between two reads of the pooler; each case runs with a few pauses
// between the writes, so that at least one of them is seen as two reads on a loaded machine.
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
  tenant = await createTenant(pg, { id: 'tracked-mid', pool: { mode: 'transaction', size: 1 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-tracked-mid-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenant.config]), log_level: 'warn' }, dir);
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A long simple Query whose body bytes would look like message headers if framed from a wrong place. */
const LONG = query(`SELECT '${'x'.repeat(4000)}' AS long_value`);

/**
 * Sends `first`, waits `pauseMs`, sends `second`; while `holder` (if any) keeps the only server
 * connection in a transaction until both writes are out. Returns the replies to two requests.
 */
async function run(first: Buffer, second: Buffer, pauseMs: number, holder: ProtocolClient | null): Promise<string[]> {
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
    const msgs = await within(c.untilReady(2), 20_000, 'replies to the Query and the named Parse');
    // The session still works in tracked mode.
    expect(await c.simple('SELECT 41 + 1')).toEqual([['42']]);
    return summarizeAll(msgs).map((s) => (s.startsWith('D:') || s.startsWith('T:') ? s[0]! : s));
  } catch (err) {
    throw new Error(`${String(err)}\n${pooler.output()}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('switching to tracked mode in a chunk that starts mid-message', () => {
  for (const waiting of [false, true]) {
    it(waiting ? 'while waiting for a server connection' : 'with a server connection', async () => {
      const holder = waiting ? await ProtocolClient.connect(poolerConn(pooler, tenant)) : null;
      try {
        for (const pauseMs of PAUSES_MS) {
          const cut = 1000;
          const replies = await run(LONG.subarray(0, cut), Buffer.concat([LONG.subarray(cut), parse(`named_${pauseMs}`, 'SELECT 1'), sync()]), pauseMs, holder);
          expect(replies, `pause ${pauseMs} ms`).toEqual(['T', 'D', 'C:SELECT 1', 'Z:I', '1', 'Z:I']);
        }
      } finally {
        await holder?.end();
      }
    }, 90_000);
  }
});

describe('switching to tracked mode after whole messages were queued', () => {
  it('sends the queued Query first, then the tracked session', async () => {
    const holder = await ProtocolClient.connect(poolerConn(pooler, tenant));
    try {
      for (const pauseMs of PAUSES_MS) {
        const replies = await run(query('SELECT 7'), Buffer.concat([parse(`q_${pauseMs}`, 'SELECT 1'), sync()]), pauseMs, holder);
        expect(replies, `pause ${pauseMs} ms`).toEqual(['T', 'D', 'C:SELECT 1', 'Z:I', '1', 'Z:I']);
      }
    } finally {
      await holder.end();
    }
  }, 90_000);
});
