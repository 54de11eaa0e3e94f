// A hostile client preparing with SQL PREPARE until its tenant's prepared-statement budget
// (`prepared_statements.max_bytes_per_tenant`) is spent: its client names and texts count against
// that budget (docs/transaction-mode.md, "SQL PREPARE and EXECUTE"), the PREPARE past it is refused
// with 53400 as a failed statement (the name stays undefined, a transaction block fails), and
// another tenant of the same pooler prepares and executes as if nothing happened. Deallocating
// gives the budget back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPooler } from '../../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from '../helpers/clients.ts';
import { createTenant, poolerConfig, poolerConn, testLogger, type TestTenant } from '../helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

const BUDGET = 256 * 1024;
/** 16 KiB statements: the budget holds fewer than 16. */
const TEXT_BYTES = 16 * 1024;
const ATTEMPTS = 64;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let hostile: TestTenant;
let other: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  hostile = await createTenant(pg, { id: 'sqlprep-hostile', pool: { mode: 'transaction', size: 1 } });
  other = await createTenant(pg, { id: 'sqlprep-other', pool: { mode: 'transaction', size: 1 } });
  pooler = await startPooler(poolerConfig([hostile.config, other.config], { prepared_statements: { max_bytes_per_tenant: BUDGET } }), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

function bigPrepare(name: string, i: number): string {
  return `PREPARE ${name} AS SELECT ${i} AS n, length('${String(i).padStart(8, '0').repeat(TEXT_BYTES / 8)}') AS len`;
}

async function fill(c: PgClient, prefix: string): Promise<{ prepared: number; refusal: unknown }> {
  for (let i = 0; i < ATTEMPTS; i++) {
    try {
      await c.query(bigPrepare(`${prefix}${i}`, i));
    } catch (err) {
      return { prepared: i, refusal: err };
    }
  }
  return { prepared: ATTEMPTS, refusal: undefined };
}

it('the hostile tenant meets 53400 at its budget; another tenant is untouched', async () => {
  const h = await connectPg(poolerConn(pooler!, hostile));
  const o = await connectPg(poolerConn(pooler!, other));
  try {
    const { prepared, refusal } = await fill(h, 'h');
    expect(refusal, `all ${ATTEMPTS} statements of 16 KiB were prepared: no budget`).toBeDefined();
    expect(prepared).toBeGreaterThan(5);
    expect(prepared).toBeLessThan(BUDGET / TEXT_BYTES);
    const e = pgErrorInfo(refusal);
    expect(e.code).toBe('53400');
    expect(e.severity).toBe('ERROR');
    expect(e.message).toContain('max_bytes_per_tenant');
    // The refused name was not defined; the ones before it work (on a reset server connection).
    expect(pgErrorInfo(await rejectionOf(h.query(`EXECUTE h${prepared}`))).code).toBe('26000');
    expect((await h.query('EXECUTE h0')).rows).toEqual([{ n: 0, len: TEXT_BYTES }]);
    // Inside a transaction block the refusal fails the block, as a failed PREPARE would.
    await h.query('BEGIN');
    expect(pgErrorInfo(await rejectionOf(h.query(bigPrepare('inblock', 999)))).code).toBe('53400');
    expect(pgErrorInfo(await rejectionOf(h.query('SELECT 1'))).code).toBe('25P02');
    await h.query('ROLLBACK');

    // The other tenant, same pooler, same budget size: fills its own budget as far as the hostile one did.
    const mine = await fill(o, 'o');
    expect(mine.prepared).toBe(prepared);
    expect((await o.query(`EXECUTE o${prepared - 1}`)).rows).toEqual([{ n: prepared - 1, len: TEXT_BYTES }]);

    // Deallocating gives the hostile tenant's budget back.
    await h.query('DEALLOCATE ALL');
    expect((await fill(h, 'again')).prepared).toBe(prepared);
  } finally {
    await endQuietly(h);
    await endQuietly(o);
  }
}, 120_000);
