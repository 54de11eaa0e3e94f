// A client that has no server connection yet — it waits in the checkout queue behind a busy pool,
// or its tenant is PAUSEd from the admin console — has nowhere to send its bytes: the pooler holds
// them until a server connection comes. A client that keeps sending meanwhile (and reads nothing)
// must not grow the pooler without bound: past a high-water mark of held input the pooler stops
// reading it (its TCP window closes) until a server connection takes the bytes, as PgBouncer stops
// reading a client whose packet buffer is full. Other tenants are served meanwhile.
// The pooler runs as a child process so its RSS (/proc/<pid>/status) is its own, with a probe that
// tells what it retains after a full garbage collection (test/helpers/hostile.ts measureMemory).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { adminConn, createAdminLogin, type AdminLogin } from '../helpers/admin.ts';
import { until, within } from '../helpers/clients.ts';
import { describeAttack, expectBoundedMemory, floodWithoutReading, measureMemory, MiB, repeatTo, serveThroughout } from '../helpers/hostile.ts';
import { bind, close, errorCodes, execute, parse, ProtocolClient, query, rows, startPoolerProcess, summarizeAll, sync, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let admin: AdminLogin;
const tenants = {} as Record<'checkout' | 'tracked' | 'paused' | 'victim', TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  admin = await createAdminLogin(pg);
  // checkout_timeout well beyond the test: the attacker must still be waiting when it is measured.
  const waitLong = { mode: 'transaction', size: 1, checkout_timeout: 120 } as const;
  tenants.checkout = await createTenant(pg, { id: 'hostile-checkout', pool: waitLong });
  tenants.tracked = await createTenant(pg, { id: 'hostile-tracked-wait', pool: waitLong });
  tenants.paused = await createTenant(pg, { id: 'hostile-paused', pool: waitLong });
  tenants.victim = await createTenant(pg, { id: 'victim-wait', pool: { mode: 'transaction', size: 2 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-adv-'));
  pooler = await startPoolerProcess(
    { ...poolerConfig(Object.values(tenants).map((t) => t.config)), admin: { users: [admin.config] }, log_level: 'warn' },
    dir,
    undefined,
    { memoryProbe: true },
  );
}, 90_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Floods `attacker` with simple queries while it has no server connection; checks the bound. */
async function floodWhileWaiting(what: string, attacker: ProtocolClient): Promise<void> {
  const other = await ProtocolClient.connect(poolerConn(pooler, tenants.victim));
  try {
    const rss = await measureMemory(pooler);
    const served = serveThroughout(async () => {
      expect(await other.simple('SELECT 1')).toEqual([['1']]);
    });
    const flood = await floodWithoutReading(attacker.socket, repeatTo(query('SELECT 1'), MiB), { maxBytes: 1024 * MiB, stallMs: 3000, deadlineMs: 30_000, served });
    const mem = await rss.stop();
    const victimView = await served.stop();
    console.info(describeAttack(what, flood, mem, victimView));
    expect(victimView.error).toBeUndefined();
    expect(victimView.served).toBeGreaterThan(0);
    expect(victimView.maxMs, 'the other tenant waited too long for an answer').toBeLessThan(10_000);
    expectBoundedMemory(mem);
    expect(flood.stalled, 'the pooler kept reading a client it holds the bytes of').toBe(true);
    expect(pooler.child.exitCode).toBeNull();
  } finally {
    await other.end();
  }
}

describe('a client sending while it waits for a server connection is stopped at a bounded memory', () => {
  it('in the checkout queue (pool of 1 held by another client)', async () => {
    const holder = await ProtocolClient.connect(poolerConn(pooler, tenants.checkout));
    const attacker = await ProtocolClient.connect(poolerConn(pooler, tenants.checkout));
    try {
      await holder.simple('BEGIN');
      await floodWhileWaiting('checkout-queue flood', attacker);
    } finally {
      attacker.destroy();
      await holder.end();
    }
  }, 90_000);

  it('in the checkout queue, after a named statement (tracked mode)', async () => {
    const holder = await ProtocolClient.connect(poolerConn(pooler, tenants.tracked));
    const attacker = await ProtocolClient.connect(poolerConn(pooler, tenants.tracked));
    try {
      expect(summarizeAll(await attacker.request(parse('s1', 'SELECT 1'), sync()))).toEqual(['1', 'Z:I']);
      await holder.simple('BEGIN');
      await floodWhileWaiting('checkout-queue flood, tracked', attacker);
    } finally {
      attacker.destroy();
      await holder.end();
    }
  }, 90_000);

  it('while its tenant is paused from the admin console', async () => {
    const console_ = await ProtocolClient.connect(adminConn(pooler, admin));
    const attacker = await ProtocolClient.connect(poolerConn(pooler, tenants.paused));
    try {
      await console_.simple(`PAUSE ${tenants.paused.id}`);
      await floodWhileWaiting('flood during PAUSE', attacker);
    } finally {
      attacker.destroy();
      await console_.simple(`RESUME ${tenants.paused.id}`);
      await console_.end();
    }
  }, 90_000);
});

describe('a well-behaved client that pipelines more than the high-water mark while it waits', () => {
  it.each([
    { what: 'fast path', tenant: 'checkout', tracked: false },
    { what: 'tracked mode', tenant: 'tracked', tracked: true },
  ] as const)('gets every answer once a server connection comes ($what)', async ({ tenant, tracked }) => {
    const holder = await ProtocolClient.connect(poolerConn(pooler, tenants[tenant]));
    const c = await ProtocolClient.connect(poolerConn(pooler, tenants[tenant]));
    try {
      if (tracked) expect(summarizeAll(await c.request(parse('w1', 'SELECT 1'), sync()))).toEqual(['1', 'Z:I']);
      await holder.simple('BEGIN');
      // 16,000 queries of 1 KiB: far beyond the mark (and the kernel's socket buffers), so the
      // pooler stops reading this client while it waits, and must read it again once the server
      // connection comes.
      const n = 16_000;
      const pad = 'x'.repeat(1000);
      const all = Buffer.concat(Array.from({ length: n }, (_, i) => query(`SELECT ${i} -- ${pad}`)));
      const answers = c.untilReady(n);
      // Written 64 KiB at a time, each once the kernel took the previous one: the writes stall
      // when the pooler stops reading.
      let written = 0;
      let progressAt = Date.now();
      const sent = (async () => {
        for (let off = 0; off < all.length; off += 64 * 1024) {
          await c.send(all.subarray(off, off + 64 * 1024));
          written = off + 64 * 1024;
          progressAt = Date.now();
        }
      })();
      await until(() => written < all.length && Date.now() - progressAt > 1500, 20_000, 'the pooler to stop reading the waiting client');
      await holder.simple('COMMIT');
      await sent;
      const msgs = await answers;
      expect(errorCodes(msgs)).toEqual([]);
      expect(rows(msgs)).toEqual(Array.from({ length: n }, (_, i) => [String(i)]));
      expect(await c.simple('SELECT 2')).toEqual([['2']]);
    } finally {
      await c.end();
      await holder.end();
    }
  }, 60_000);
});

describe('a tracked client that pipelines locally answered messages behind replies the server holds, while it waits', () => {
  it('gets every answer once a server connection comes (no deadlock)', async () => {
    const holder = await ProtocolClient.connect(poolerConn(pooler, tenants.tracked));
    const c = await ProtocolClient.connect(poolerConn(pooler, tenants.tracked));
    try {
      expect(summarizeAll(await c.request(parse('w2', 'SELECT 1'), sync()))).toEqual(['1', 'Z:I']);
      await holder.simple('BEGIN');
      // Bind/Execute, whose replies PostgreSQL holds until Sync or Flush, then 100,000 small Closes
      // (1.1 MB) and 16,000 large ones (16 MB: beyond the kernel's socket buffers) that the pooler
      // answers itself once those replies are out, then the Sync. Past the held-input mark the
      // pooler stops reading, before the Sync. When the server connection comes, the ~100,000
      // Closes it holds wait behind the server's replies: it must get them out (Flush), else
      // neither side moves again.
      const small = 100_000;
      const large = 16_000;
      const all = Buffer.concat([
        bind('', 'w2'),
        execute(),
        repeatTo(close('S', 'nope'), small * close('S', 'nope').length),
        repeatTo(close('S', 'x'.repeat(1000)), large * close('S', 'x'.repeat(1000)).length),
        sync(),
      ]);
      const closes = small + large;
      const answers = c.untilReady(1);
      answers.catch(() => undefined);
      let written = 0;
      let progressAt = Date.now();
      const sent = (async () => {
        for (let off = 0; off < all.length; off += 64 * 1024) {
          await c.send(all.subarray(off, off + 64 * 1024));
          written = off + 64 * 1024;
          progressAt = Date.now();
        }
      })();
      await until(() => written < all.length && Date.now() - progressAt > 1500, 20_000, 'the pooler to stop reading the waiting client');
      await holder.simple('COMMIT');
      await within(sent, 30_000, 'the pooler to read the rest of the pipeline');
      const msgs = await within(answers, 30_000, 'every answer of the pipeline');
      expect(msgs.length).toBe(3 + closes + 1);
      expect(summarizeAll(msgs.slice(0, 4))).toEqual(['2', 'D:["1"]', 'C:SELECT 1', '3']);
      expect(summarizeAll(msgs.slice(-2))).toEqual(['3', 'Z:I']);
    } finally {
      c.destroy();
      await holder.end();
    }
  }, 90_000);
});
