// A transaction-mode client whose server connection died inside a transaction is answered by the
// pooler itself (frontend/lost-transaction.ts: 25P02 to every request until ROLLBACK), with no
// server round trip. A client that then streams requests and never reads must not grow the
// pooler without bound: the pooler stops reading it once its unread replies pass a high-water
// mark, and other tenants are served meanwhile. The pooler runs as a child process so its RSS
// (/proc/<pid>/status) is its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg } from '../helpers/clients.ts';
import { describeAttack, expectBoundedMemory, floodWithoutReading, measureMemory, MiB, repeatTo, serveThroughout } from '../helpers/hostile.ts';
import { beginAndPid, errorCodes, ProtocolClient, query, startPoolerProcess, summarizeAll, sync, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, superuserConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let hostile: TestTenant;
let victim: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  hostile = await createTenant(pg, { id: 'hostile-lost', pool: { mode: 'transaction', size: 2 } });
  victim = await createTenant(pg, { id: 'victim-lost', pool: { mode: 'transaction', size: 2 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-adv-'));
  pooler = await startPoolerProcess({ ...poolerConfig([hostile.config, victim.config]), log_level: 'error' }, dir, undefined, { memoryProbe: true });
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a client answered 25P02 after its server connection died, flooding without reading, is stopped at a bounded memory', async () => {
  const attacker = await ProtocolClient.connect(poolerConn(pooler, hostile));
  const other = await ProtocolClient.connect(poolerConn(pooler, victim));
  const su = await connectPg(superuserConn(pg));
  try {
    const pid = await beginAndPid(attacker);
    await su.query('SELECT pg_terminate_backend($1)', [pid]);
    // The next request learns of the loss (08006 downgraded to ERROR); from then on the pooler
    // answers alone, until ROLLBACK.
    for (;;) {
      const r = await attacker.request(sync());
      if (summarizeAll(r).at(-1) === 'Z:E') break;
    }
    expect(errorCodes(await attacker.request(query('SELECT 1')))).toEqual(['25P02']);
    const rss = await measureMemory(pooler);
    const served = serveThroughout(async () => {
      expect(await other.simple('SELECT 1')).toEqual([['1']]);
    });
    const flood = await floodWithoutReading(attacker.socket, repeatTo(query('SELECT 1'), MiB), { maxBytes: 1024 * MiB, stallMs: 3000, deadlineMs: 30_000, served });
    const mem = await rss.stop();
    const victimView = await served.stop();
    console.info(describeAttack('lost-transaction flood', flood, mem, victimView));
    expect(victimView.error).toBeUndefined();
    expect(victimView.served).toBeGreaterThan(0);
    expect(victimView.maxMs, 'the other tenant waited too long for an answer').toBeLessThan(10_000);
    expectBoundedMemory(mem);
    expect(flood.stalled, 'the pooler kept reading a client that reads none of its replies').toBe(true);
    expect(pooler.child.exitCode).toBeNull();
  } finally {
    attacker.destroy();
    await other.end();
    await su.end();
  }
}, 90_000);
