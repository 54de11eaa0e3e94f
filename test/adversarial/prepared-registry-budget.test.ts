// Named prepared statements in transaction mode are kept by the pooler, one registry per tenant
// (pooler/src/prepared/registry.ts). One tenant must not be able to grow the pooler with them, nor
// learn from them what another tenant runs:
// - many distinct texts (used once each) stay within the tenant's byte budget
//   (`prepared_statements.max_bytes_per_tenant`): the pooler's RSS does not grow with them;
// - texts the server rejects are not kept at all;
// - when the statements a tenant's clients still use fill its budget, a Parse that needs more is
//   refused with 53400, exactly where PostgreSQL would report a failed Parse (the transaction
//   fails, the rest of the pipeline is skipped up to Sync), and works again once names are closed;
// - server-side names (visible to the tenant in pg_prepared_statements) differ between tenants for
//   the same text, and do not change with other tenants' activity.
// The pooler runs as a child process so its RSS (/proc/<pid>/status) is its own, with a probe that
// tells what it retains after a full garbage collection (test/helpers/hostile.ts measureMemory).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { expectBoundedMemory, measureMemory, MiB } from '../helpers/hostile.ts';
import {
  bind,
  close,
  errorCodes,
  errorFields,
  execute,
  parse,
  ProtocolClient,
  query,
  rows,
  startPoolerProcess,
  summarizeAll,
  sync,
  type PoolerProcess,
} from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

const BUDGET = 1 * MiB;
/** 64 KiB statements: 2000 of them are 128 MB of text, against a budget of 1 MiB. */
const TEXT_BYTES = 64 * 1024;
const STATEMENTS = 2000;
/** Statements prepared (in use) at once: 640 KiB, within the budget. */
const BATCH = 10;

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
const tenants = {} as Record<'many' | 'rejected' | 'full' | 'other' | 'namesA' | 'namesB', TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  const pool = { mode: 'transaction', size: 1 } as const;
  tenants.many = await createTenant(pg, { id: 'reg-many', pool });
  tenants.rejected = await createTenant(pg, { id: 'reg-rejected', pool });
  tenants.full = await createTenant(pg, { id: 'reg-full', pool });
  tenants.other = await createTenant(pg, { id: 'reg-other', pool });
  tenants.namesA = await createTenant(pg, { id: 'names-a', pool });
  tenants.namesB = await createTenant(pg, { id: 'names-b', pool });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-adv-'));
  pooler = await startPoolerProcess(
    { ...poolerConfig(Object.values(tenants).map((t) => t.config)), prepared_statements: { max_bytes_per_tenant: BUDGET }, log_level: 'warn' },
    dir,
    undefined,
    { memoryProbe: true },
  );
}, 120_000);

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A distinct statement text of about TEXT_BYTES; `valid` false makes it a syntax error. */
function bigText(i: number, valid = true): string {
  return `SELECT ${i} AS n, length('${String(i).padStart(8, '0').repeat(TEXT_BYTES / 8)}') AS len${valid ? '' : ' +'}`;
}

describe('the registry keeps a tenant within its byte budget', () => {
  it(`${STATEMENTS} distinct texts of 64 KiB, each used once: the pooler's memory does not grow with them`, async () => {
    const c = await ProtocolClient.connect(poolerConn(pooler, tenants.many));
    try {
      const rss = await measureMemory(pooler);
      for (let from = 0; from < STATEMENTS; from += BATCH) {
        // Parse answered before the Close: a statement enters the registry at its ParseComplete,
        // and one closed before that is never kept (a Close pipelined behind its Parse would not
        // test the budget at all). Closed, it stays registered (idle) until the budget needs room.
        const batch = Array.from({ length: BATCH }, (_, k) => from + k);
        expect(errorCodes(await c.request(...batch.map((i) => parse(`s${i}`, bigText(i))), sync()))).toEqual([]);
        const msgs = await c.request(...batch.flatMap((i) => [bind('', `s${i}`), execute(), close('S', `s${i}`)]), sync());
        expect(errorCodes(msgs)).toEqual([]);
        expect(rows(msgs)).toEqual(batch.map((i) => [String(i), String(TEXT_BYTES)]));
      }
      const mem = await rss.stop();
      console.info(`registry: ${STATEMENTS} distinct 64 KiB texts, pooler RSS ${mem.baselineKb >> 10} → max ${mem.maxKb >> 10} MiB (+${(mem.maxKb - mem.baselineKb) >> 10}), retained after a full GC ${(mem.retainedBaselineKb / 1024).toFixed(1)} → ${(mem.retainedKb / 1024).toFixed(1)} MiB`);
      expectBoundedMemory(mem);
    } finally {
      await c.end();
    }
  }, 120_000);

  it(`${STATEMENTS} texts of 64 KiB the server rejects are not kept`, async () => {
    const c = await ProtocolClient.connect(poolerConn(pooler, tenants.rejected));
    try {
      const rss = await measureMemory(pooler);
      // Ten at a time: a Parse waiting for its answer holds its text, and counts against the budget.
      for (let from = 0; from < STATEMENTS; from += 10) {
        const parts: Buffer[] = [];
        for (let i = from; i < from + 10; i++) parts.push(parse(`bad${i}`, bigText(i, false)), sync());
        const msgs = await c.request(...parts);
        expect(errorCodes(msgs)).toEqual(Array.from({ length: 10 }, () => '42601'));
      }
      const mem = await rss.stop();
      console.info(`registry: ${STATEMENTS} rejected 64 KiB texts, pooler RSS ${mem.baselineKb >> 10} → max ${mem.maxKb >> 10} MiB (+${(mem.maxKb - mem.baselineKb) >> 10}), retained after a full GC ${(mem.retainedBaselineKb / 1024).toFixed(1)} → ${(mem.retainedKb / 1024).toFixed(1)} MiB`);
      expectBoundedMemory(mem);
      // A rejected name stays undefined, as on PostgreSQL.
      expect(errorCodes(await c.request(bind('', 'bad0'), execute(), sync()))).toEqual(['26000']);
    } finally {
      await c.end();
    }
  }, 120_000);

  it('statements in use beyond the budget: the Parse is refused with 53400 as a failed Parse, and works again once names are closed', async () => {
    const c = await ProtocolClient.connect(poolerConn(pooler, tenants.full));
    const other = await ProtocolClient.connect(poolerConn(pooler, tenants.other));
    try {
      // Keep defining 64 KiB statements without closing them: the budget (1 MiB) holds about 15.
      let defined = 0;
      let refusal: Record<string, string> | undefined;
      for (; defined < 40; defined++) {
        const msgs = await c.request(parse(`keep${defined}`, bigText(defined)), sync());
        const err = msgs.find((m) => m.type === 'E');
        if (err !== undefined) {
          refusal = errorFields(err.body);
          expect(summarizeAll(msgs).map((s) => s.split(':')[0])).toEqual(['E', 'Z']);
          break;
        }
        expect(summarizeAll(msgs)).toEqual(['1', 'Z:I']);
      }
      expect(refusal?.C).toBe('53400');
      expect(refusal?.S).toBe('ERROR');
      expect(refusal?.M).toMatch(/prepared_statements\.max_bytes_per_tenant/);
      expect(defined).toBeGreaterThan(5);
      expect(defined).toBeLessThan(17);
      // In a transaction block the refusal fails the transaction and skips the pipeline to Sync,
      // as a Parse the server rejects does; the name stays undefined.
      const inBlock = await c.request(query('BEGIN'), parse('late', bigText(1000)), bind('', 'keep0'), execute(), sync(), query('SELECT 1'), query('ROLLBACK'));
      expect(summarizeAll(inBlock).map((s) => s.replace(/^E:ERROR:(\w+):.*$/, 'E:$1'))).toEqual([
        'C:BEGIN',
        'Z:T',
        'E:53400',
        'Z:E',
        'E:25P02',
        'Z:E',
        'C:ROLLBACK',
        'Z:I',
      ]);
      expect(errorCodes(await c.request(bind('', 'late'), execute(), sync()))).toEqual(['26000']);
      // In a transaction that has already failed, PostgreSQL answers any Parse with 25P02: so does
      // the refusal.
      const failed = await c.request(query('BEGIN'), query('SELECT 1/0'), parse('late', bigText(1000)), sync(), query('ROLLBACK'));
      expect(summarizeAll(failed).map((s) => s.replace(/^E:ERROR:(\w+):.*$/, 'E:$1'))).toEqual(['C:BEGIN', 'Z:T', 'E:22012', 'Z:E', 'E:25P02', 'Z:E', 'C:ROLLBACK', 'Z:I']);
      // The statements already defined still run; another tenant is not affected.
      expect(rows(await c.request(bind('', 'keep3'), execute(), sync()))).toEqual([['3', String(TEXT_BYTES)]]);
      expect(rows(await other.request(parse('x', bigText(7)), bind('', 'x'), execute(), sync()))).toEqual([['7', String(TEXT_BYTES)]]);
      // Closing names gives the budget back.
      await c.request(...Array.from({ length: 4 }, (_, i) => close('S', `keep${i}`)), sync());
      expect(rows(await c.request(parse('late', bigText(1000)), bind('', 'late'), execute(), sync()))).toEqual([['1000', String(TEXT_BYTES)]]);
    } finally {
      await c.end();
      await other.end();
    }
  }, 120_000);
});

/**
 * Prepares `text` as `name` and returns the server-side names of that text the tenant can see in
 * pg_prepared_statements on its (only) server connection.
 */
async function serverNamesOf(c: ProtocolClient, name: string, text: string): Promise<string[]> {
  const msgs = await c.request(
    query('BEGIN'),
    parse(name, text),
    bind('', name),
    execute(),
    sync(),
    query(`SELECT name FROM pg_prepared_statements WHERE statement = '${text.replaceAll("'", "''")}' ORDER BY name`),
    query('COMMIT'),
  );
  expect(errorCodes(msgs)).toEqual([]);
  return rows(msgs)
    .slice(1)
    .map((r) => r[0]!);
}

it('server-side statement names differ between tenants and do not change with their activity', async () => {
  const a = await ProtocolClient.connect(poolerConn(pooler, tenants.namesA));
  const b = await ProtocolClient.connect(poolerConn(pooler, tenants.namesB));
  try {
    const shared = 'SELECT 42 AS answer';
    const [inA] = await serverNamesOf(a, 'q', shared);
    const [inB] = await serverNamesOf(b, 'q', shared);
    // A counter shared by the tenants gave both the same name: tenant b learned that another
    // tenant had already prepared this text.
    expect(inB).not.toBe(inA);
    await b.request(close('S', 'q'), sync());
    // Tenant a prepares many texts; tenant b prepares enough others to forget its statement.
    for (let i = 0; i < 40; i++) await a.request(parse(`a${i}`, bigText(i)), close('S', `a${i}`), sync());
    for (let i = 0; i < 40; i++) await b.request(parse(`b${i}`, bigText(5000 + i)), close('S', `b${i}`), sync());
    // The name depends on the tenant and the text only: nothing tells how many statements anyone
    // prepared in between (a counter would have moved on, and the server would hold both names).
    expect(await serverNamesOf(b, 'q2', shared)).toEqual([inB]);
    expect(await serverNamesOf(a, 'q2', shared)).toEqual([inA]);
  } finally {
    await a.end();
    await b.end();
  }
}, 120_000);
