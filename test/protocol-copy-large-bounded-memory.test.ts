// COPY of a few hundred MB through the pooler, both directions, without the pooler's memory
// growing with the stream: COPY ... FROM STDIN (client → server CopyData) and COPY ... TO STDOUT
// (server → client CopyData) with 300 MB each, while the pooler's resident set size is sampled
// from /proc/<pid>/status. The pooler must forward with backpressure (pause the side that
// produces while the other side's socket is full), so its RSS stays bounded — below 250 MB,
// far less than the data that passed through — even when the client reads slowly.
// Protocol docs, "COPY Operations". The pooler runs as a child process so its RSS is its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg } from './helpers/clients.ts';
import { bind, copyData, copyDone, execute, parse, ProtocolClient, query, rows, startPoolerProcess, summarize, sync, type PoolerProcess } from './helpers/raw-protocol.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, type TestTenant } from './helpers/tenants.ts';

const MB = 1024 * 1024;
const TOTAL = 300 * MB;
const RSS_LIMIT_KB = 250 * 1024;
const TIMEOUT_MS = 240_000;

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
const tenants = {} as Record<'transaction' | 'session', TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'copy-txn', pool: { mode: 'transaction', size: 2 } });
  tenants.session = await createTenant(pg, { id: 'copy-session', pool: { mode: 'session', size: 2 } });
  for (const t of Object.values(tenants)) {
    const c = await connectPg(destinationConn(t));
    await c.query('CREATE UNLOGGED TABLE copy_sink (id int, pad text)');
    await c.end();
  }
  dir = mkdtempSync(join(tmpdir(), 'switchyard-copy-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenants.transaction.config, tenants.session.config]), log_level: 'warn' }, dir);
}, 60_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Samples the pooler's RSS every 50 ms until stopped; returns the maximum seen (KiB). */
function sampleRss(p: PoolerProcess): { stop: () => { maxKb: number; startKb: number; samples: number } } {
  const startKb = p.rssKb();
  let maxKb = startKb;
  let samples = 1;
  const timer = setInterval(() => {
    maxKb = Math.max(maxKb, p.rssKb());
    samples++;
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      maxKb = Math.max(maxKb, p.rssKb());
      return { maxKb, startKb, samples: samples + 1 };
    },
  };
}

const variants = [
  { name: 'transaction mode', tenant: 'transaction', tracked: false },
  // A client that used a named statement first: the pooler follows its stream message by message.
  { name: 'transaction mode, after a named statement', tenant: 'transaction', tracked: true },
  { name: 'session mode', tenant: 'session', tracked: false },
] as const;

async function connect(v: (typeof variants)[number]): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(poolerConn(pooler, tenants[v.tenant]));
  if (v.tracked) {
    const r = await c.request(parse('warmup', 'SELECT 1'), bind('', 'warmup'), execute(), sync());
    expect(r.map((m) => m.type)).toEqual(['1', '2', 'D', 'C', 'Z']);
  }
  return c;
}

describe.each(variants)('$name', (v) => {
  it(
    'COPY FROM STDIN of 300 MB keeps the pooler’s memory bounded',
    async () => {
      const c = await connect(v);
      try {
        await c.simple('TRUNCATE copy_sink');
        // One 256 KiB CopyData payload of whole rows, sent again and again.
        const row = `12345\t${'x'.repeat(100)}\n`;
        const rowsPerChunk = Math.floor((256 * 1024) / row.length);
        const chunk = copyData(row.repeat(rowsPerChunk));
        const chunks = Math.ceil(TOTAL / (rowsPerChunk * row.length));
        await c.send(query('COPY copy_sink FROM STDIN'));
        const start = await c.untilType('G');
        expect(start.map((m) => m.type)).toEqual(['G']);
        const rss = sampleRss(pooler);
        // Each send resolves when the kernel took the bytes: the pooler's backpressure paces us.
        for (let i = 0; i < chunks; i++) await c.send(chunk);
        await c.send(copyDone());
        const done = await c.untilReady();
        const mem = rss.stop();
        console.info(`${v.name} COPY FROM STDIN: ${((chunks * chunk.length) / MB).toFixed(0)} MB, pooler RSS ${mem.startKb >> 10} → max ${mem.maxKb >> 10} MB (${mem.samples} samples)`);
        expect(done.map(summarize)).toEqual([`C:COPY ${chunks * rowsPerChunk}`, 'Z:I']);
        expect(mem.maxKb, `pooler RSS peaked at ${mem.maxKb >> 10} MB`).toBeLessThan(RSS_LIMIT_KB);
        expect(await c.simple('SELECT count(*) FROM copy_sink')).toEqual([[String(chunks * rowsPerChunk)]]);
        await c.simple('TRUNCATE copy_sink');
      } finally {
        await c.end();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'COPY TO STDOUT of 300 MB to a slow reader keeps the pooler’s memory bounded',
    async () => {
      const c = await connect(v);
      try {
        const rowBytes = 7 + 1 + 100 + 1; // 7-digit id, tab, pad, newline
        const n = Math.ceil(TOTAL / rowBytes);
        let bytes = 0;
        let sinceBreak = 0;
        c.setCopySink((data) => {
          bytes += data.length;
          sinceBreak += data.length;
          // A slow client: every 32 MB it stops reading for a moment, so the pooler must hold back
          // the server instead of buffering what the client does not take.
          if (sinceBreak >= 32 * MB) {
            sinceBreak = 0;
            c.socket.pause();
            setTimeout(() => c.socket.resume(), 300);
          }
        });
        const rss = sampleRss(pooler);
        const replies = await c.request(query(`COPY (SELECT 1000000 + g % 9000000, repeat('x', 100) FROM generate_series(1, ${n}) AS g) TO STDOUT`));
        const mem = rss.stop();
        c.setCopySink(undefined);
        console.info(`${v.name} COPY TO STDOUT: ${(bytes / MB).toFixed(0)} MB, pooler RSS ${mem.startKb >> 10} → max ${mem.maxKb >> 10} MB (${mem.samples} samples)`);
        expect(replies.map(summarize)).toEqual(['H', 'c', `C:COPY ${n}`, 'Z:I']);
        expect(bytes).toBe(n * rowBytes);
        expect(mem.maxKb, `pooler RSS peaked at ${mem.maxKb >> 10} MB`).toBeLessThan(RSS_LIMIT_KB);
        // The connection is in sync afterwards.
        expect(rows(await c.request(query('SELECT 1')))).toEqual([['1']]);
      } finally {
        await c.end();
      }
    },
    TIMEOUT_MS,
  );
});
