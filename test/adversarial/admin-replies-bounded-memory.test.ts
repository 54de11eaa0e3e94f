// The admin console (admin/session.ts) answers every command itself. A console client that
// pipelines commands (SHOW …, Sync) and never reads must not grow the pooler without bound: the
// console stops taking commands once its unread replies pass a high-water mark, and tenants are
// served meanwhile. The pooler runs as a child process so its RSS (/proc/<pid>/status) is its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { adminConn, createAdminLogin, type AdminLogin } from '../helpers/admin.ts';
import { describeAttack, expectBoundedMemory, floodWithoutReading, measureMemory, MiB, repeatTo, serveThroughout } from '../helpers/hostile.ts';
import { ProtocolClient, query, startPoolerProcess, sync, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let admin: AdminLogin;
let victim: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  admin = await createAdminLogin(pg);
  victim = await createTenant(pg, { id: 'victim-admin', pool: { mode: 'transaction', size: 2 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-adv-'));
  pooler = await startPoolerProcess({ ...poolerConfig([victim.config]), admin: { users: [admin.config] }, log_level: 'warn' }, dir, undefined, { memoryProbe: true });
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an admin console client pipelining without reading is stopped at a bounded memory', () => {
  it.each([
    { what: 'SHOW CONFIG', unit: query('SHOW CONFIG') },
    { what: 'Sync', unit: sync() },
  ])('$what', async ({ what, unit }) => {
    const attacker = await ProtocolClient.connect(adminConn(pooler, admin));
    const other = await ProtocolClient.connect(poolerConn(pooler, victim));
    try {
      // Once read, before the baseline: what its first use compiles and caches is not a backlog.
      await attacker.request(unit);
      const rss = await measureMemory(pooler);
      const served = serveThroughout(async () => {
        expect(await other.simple('SELECT 1')).toEqual([['1']]);
      });
      const flood = await floodWithoutReading(attacker.socket, repeatTo(unit, MiB), { maxBytes: 1024 * MiB, stallMs: 3000, deadlineMs: 30_000, served });
      const mem = await rss.stop();
      const victimView = await served.stop();
      console.info(describeAttack(`admin ${what} flood`, flood, mem, victimView));
      expect(victimView.error).toBeUndefined();
      expect(victimView.served).toBeGreaterThan(0);
      expect(victimView.maxMs, 'the other tenant waited too long for an answer').toBeLessThan(10_000);
      expectBoundedMemory(mem);
      expect(flood.stalled, 'the console kept reading a client that reads none of its replies').toBe(true);
      expect(pooler.child.exitCode).toBeNull();
    } finally {
      attacker.destroy();
      await other.end();
    }
  }, 90_000);
});
