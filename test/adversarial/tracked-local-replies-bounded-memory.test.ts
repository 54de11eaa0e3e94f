// A transaction-mode client that uses named statements (tracked mode: frontend/prepared-session.ts) gets
// some replies from the pooler itself: a Parse of a statement its server connection already has
// is answered ParseComplete, a Close is answered CloseComplete, without a server round trip. A
// client that pipelines such messages and never reads must not grow the pooler without bound: the
// pooler stops reading it once its unread replies pass a high-water mark (as PostgreSQL, whose
// writes then block, stops reading its input), and other tenants are served meanwhile.
// The pooler runs as a child process so its RSS (/proc/<pid>/status) is its own, with a probe that
// tells what it retains after a full garbage collection (test/helpers/hostile.ts measureMemory).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { describeAttack, expectBoundedMemory, floodWithoutReading, measureMemory, MiB, repeatTo, serveThroughout } from '../helpers/hostile.ts';
import { bind, close, execute, parse, ProtocolClient, query, startPoolerProcess, summarizeAll, sync, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let hostile: TestTenant;
let victim: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  hostile = await createTenant(pg, { id: 'hostile-tracked', pool: { mode: 'transaction', size: 2 } });
  victim = await createTenant(pg, { id: 'victim-tracked', pool: { mode: 'transaction', size: 2 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-adv-'));
  pooler = await startPoolerProcess({ ...poolerConfig([hostile.config, victim.config]), log_level: 'warn' }, dir, undefined, { memoryProbe: true });
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a client pipelining locally answered Parse/Close without reading is stopped at a bounded memory, and another tenant is served', async () => {
  const attacker = await ProtocolClient.connect(poolerConn(pooler, hostile));
  const other = await ProtocolClient.connect(poolerConn(pooler, victim));
  try {
    // The first named Parse makes the client tracked and prepares the statement on the tenant's
    // only server connection: from then on its Parse and Close are answered by the pooler.
    expect(summarizeAll(await attacker.request(parse('s1', 'SELECT 1'), sync()))).toEqual(['1', 'Z:I']);
    const rss = await measureMemory(pooler);
    const served = serveThroughout(async () => {
      expect(await other.simple('SELECT 1')).toEqual([['1']]);
    });
    const flood = await floodWithoutReading(attacker.socket, repeatTo(Buffer.concat([close('S', 's1'), parse('s1', 'SELECT 1')]), MiB), {
      maxBytes: 512 * MiB,
      stallMs: 3000,
      deadlineMs: 30_000,
      served,
    });
    const mem = await rss.stop();
    const victimView = await served.stop();
    console.info(describeAttack('tracked Parse/Close flood', flood, mem, victimView));
    expect(victimView.error).toBeUndefined();
    expect(victimView.served).toBeGreaterThan(0);
    expect(victimView.maxMs, 'the other tenant waited too long for an answer').toBeLessThan(10_000);
    expectBoundedMemory(mem);
    expect(flood.stalled, 'the pooler kept reading a client that reads none of its replies').toBe(true);
    expect(pooler.child.exitCode).toBeNull();
    // Each reply written to the full socket must not add one more 'drain' listener (Node warns past ten).
    expect(pooler.output()).not.toMatch(/MaxListenersExceeded/);
    expect(await other.simple('SELECT 2')).toEqual([['2']]);
  } finally {
    attacker.destroy();
    await other.end();
  }
}, 90_000);

it('locally answered messages queued behind a server reply the client does not read are bounded too', async () => {
  const attacker = await ProtocolClient.connect(poolerConn(pooler, hostile));
  const other = await ProtocolClient.connect(poolerConn(pooler, victim));
  try {
    expect(summarizeAll(await attacker.request(parse('s1', 'SELECT 1'), sync()))).toEqual(['1', 'Z:I']);
    const rss = await measureMemory(pooler);
    const served = serveThroughout(async () => {
      expect(await other.simple('SELECT 1')).toEqual([['1']]);
    });
    // A result of ~200 MB that the client never reads holds the server connection back; every
    // Close after it waits for its turn in the pooler's queue of outstanding requests.
    const big = query(`SELECT repeat('x', 1000) FROM generate_series(1, 200000)`);
    const flood = await floodWithoutReading(attacker.socket, Buffer.concat([big, repeatTo(close('S', 's1'), MiB - big.length)]), {
      maxBytes: 512 * MiB,
      stallMs: 3000,
      deadlineMs: 30_000,
      served,
    });
    const mem = await rss.stop();
    const victimView = await served.stop();
    console.info(describeAttack('tracked Close flood behind an unread result', flood, mem, victimView));
    expect(victimView.error).toBeUndefined();
    expect(victimView.served).toBeGreaterThan(0);
    expectBoundedMemory(mem);
    expect(flood.stalled, 'the pooler kept reading a client that reads none of its replies').toBe(true);
    expect(pooler.child.exitCode).toBeNull();
    // Each reply written to the full socket must not add one more 'drain' listener (Node warns past ten).
    expect(pooler.output()).not.toMatch(/MaxListenersExceeded/);
  } finally {
    attacker.destroy();
    await other.end();
  }
}, 90_000);

it('a long pipeline of locally answered messages behind replies the server holds until Sync completes (no deadlock)', async () => {
  const c = await ProtocolClient.connect(poolerConn(pooler, hostile));
  try {
    expect(summarizeAll(await c.request(parse('s1', 'SELECT 1'), sync()))).toEqual(['1', 'Z:I']);
    // PostgreSQL sends the BindComplete/DataRow/CommandComplete only at Sync (or Flush, or when
    // its buffer fills); the 40,000 Closes behind them are the pooler's to answer. The pooler stops
    // reading this client while they wait, so it must get the server's replies out first (Flush):
    // else neither side would move.
    const closes = 40_000;
    const msgs = await c.request(bind('', 's1'), execute(), repeatTo(close('S', 'nope'), closes * close('S', 'nope').length), sync());
    expect(msgs.length).toBe(3 + closes + 1);
    expect(summarizeAll(msgs.slice(0, 4))).toEqual(['2', 'D:["1"]', 'C:SELECT 1', '3']);
    expect(summarizeAll(msgs.slice(-2))).toEqual(['3', 'Z:I']);
  } finally {
    await c.end();
  }
}, 30_000);
