// psql through the pooler: COPY in all the ways psql does it — `\copy ... FROM 'file'` and
// `\copy ... TO 'file'` (psql streams the file over COPY FROM STDIN / TO STDOUT), COPY ... FROM
// STDIN with the data inline in the script, COPY ... TO STDOUT, and a COPY that fails on a bad
// row mid-stream (the client's session and the shared server connection must stay usable).
// Four psql processes run at once on two server connections (transaction mode).
// psql's \bind (extended protocol from psql) exists from psql 16 on; with an older psql that test
// is skipped (node-postgres and pgbench cover the extended protocol).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { findPostgresBinDir, run, startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { connectPg, psql } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;
const MODES = ['session', 'transaction'] as const;
type Mode = (typeof MODES)[number];
const PROCESSES = 4;
const ROWS = 5000;

let pg: PostgresServer;
let pooler: Pooler | undefined;
let dir: string;
let psqlMajor = 0;
const tenants = {} as Record<Mode, TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'psqlcopy-txn', pool: { mode: 'transaction', size: 2 } });
  tenants.session = await createTenant(pg, { id: 'psqlcopy-session', pool: { mode: 'session', size: PROCESSES } });
  for (const t of Object.values(tenants)) {
    const admin = await connectPg(destinationConn(t));
    await admin.query('CREATE TABLE copied (who text NOT NULL, n int NOT NULL, note text)');
    await admin.end();
  }
  dir = mkdtempSync(join(tmpdir(), 'switchyard-psqlcopy-'));
  const v = await run(join(findPostgresBinDir(), 'psql'), ['--version']);
  psqlMajor = Number(/(\d+)\.\d+/.exec(v.stdout)?.[1] ?? 0);
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** CSV rows for `who`: n = 1..ROWS, with quoting and commas in the note. */
function csvRows(who: string): string {
  return Array.from({ length: ROWS }, (_, i) => `${who},${i + 1},"note ${i + 1}, with ""quotes"""`).join('\n') + '\n';
}

async function countFor(t: TestTenant, who: string): Promise<{ n: number; sum: number }> {
  const c = await connectPg(destinationConn(t));
  try {
    const r = await c.query<{ n: number; sum: number }>('SELECT count(*)::int AS n, coalesce(sum(n), 0)::int AS sum FROM copied WHERE who = $1', [who]);
    return r.rows[0]!;
  } finally {
    await c.end();
  }
}

const SUM = (ROWS * (ROWS + 1)) / 2;

describe.each(MODES)('psql COPY through the pooler (%s mode)', (mode) => {
  it(`\\copy FROM a file and TO a file, ${PROCESSES} psql processes at once`, async () => {
    const t = tenants[mode];
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, async (_, p) => {
        const who = `${mode}-file-${p}`;
        const input = join(dir, `${who}.csv`);
        const output = join(dir, `${who}.out.csv`);
        writeFileSync(input, csvRows(who));
        const script = [
          `\\copy copied FROM '${input}' WITH (FORMAT csv)`,
          `SELECT count(*) FROM copied WHERE who = '${who}';`,
          `\\copy (SELECT who, n, note FROM copied WHERE who = '${who}' ORDER BY n) TO '${output}' WITH (FORMAT csv)`,
          '',
        ].join('\n');
        const r = await psql(poolerConn(pooler!, t), script);
        return { who, input, output, r };
      }),
    );
    for (const { who, input, output, r } of results) {
      expect(r.stderr, who).toBe('');
      expect(r.code, who).toBe(0);
      expect(r.stdout.trim(), who).toBe(String(ROWS));
      expect(readFileSync(output, 'utf8'), who).toBe(readFileSync(input, 'utf8'));
      expect(await countFor(t, who)).toEqual({ n: ROWS, sum: SUM });
    }
  });

  it('COPY FROM STDIN with inline data, then COPY TO STDOUT', async () => {
    const t = tenants[mode];
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, async (_, p) => {
        const who = `${mode}-inline-${p}`;
        const data = Array.from({ length: ROWS }, (_, i) => `${who}\t${i + 1}\tinline ${i + 1}`).join('\n');
        const script = [
          'COPY copied (who, n, note) FROM STDIN;',
          data,
          '\\.',
          `COPY (SELECT n, note FROM copied WHERE who = '${who}' ORDER BY n LIMIT 3) TO STDOUT;`,
          `SELECT sum(n) FROM copied WHERE who = '${who}';`,
          '',
        ].join('\n');
        return { who, r: await psql(poolerConn(pooler!, t), script) };
      }),
    );
    for (const { who, r } of results) {
      expect(r.stderr, who).toBe('');
      expect(r.code, who).toBe(0);
      expect(r.stdout.trim().split('\n'), who).toEqual(['1\tinline 1', '2\tinline 2', '3\tinline 3', String(SUM)]);
    }
  });

  it('a COPY that fails on a bad row leaves the session and the server connection usable', async () => {
    const t = tenants[mode];
    const who = `${mode}-bad`;
    const rows = [`${who}\t1\tok`, `${who}\tnot-a-number\tbad`, `${who}\t3\tok`].join('\n');
    const script = ['COPY copied (who, n, note) FROM STDIN;', rows, '\\.', "SELECT 'after the failed copy';", `SELECT count(*) FROM copied WHERE who = '${who}';`, ''].join('\n');
    const r = await psql(poolerConn(pooler!, t), script, { stopOnError: false });
    expect(r.stderr).toContain('invalid input syntax for type integer: "not-a-number"');
    expect(r.stdout.trim().split('\n')).toEqual(['after the failed copy', '0']);
    // Other clients on the (shared) server connections are fine afterwards.
    const again = await Promise.all(Array.from({ length: PROCESSES }, () => psql(poolerConn(pooler!, t), 'SELECT 40 + 2;')));
    for (const a of again) expect([a.code, a.stdout.trim(), a.stderr]).toEqual([0, '42', '']);
  });

  it('psql \\bind (extended protocol from psql; psql 16 and later)', async (ctx) => {
    if (psqlMajor < 16) {
      ctx.skip(`psql ${psqlMajor} has no \\bind (added in psql 16); the extended protocol is covered by drivers-pg-named-statements`);
      return;
    }
    const r = await psql(poolerConn(pooler!, tenants[mode]), "SELECT $1::int + 1 AS v, $2::text AS t \\bind 41 'x' \\g\n");
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42|x');
  });
});
