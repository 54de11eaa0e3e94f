// psql through the pooler, in transaction and session mode: simple queries, a multi-statement
// Query message, transactions, and an error inside a transaction followed by ROLLBACK. More psql
// processes run at once than the tenant has server connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPooler } from '../pooler/src/index.ts';
import { startPostgres, type PostgresServer } from '../shared/src/local/postgres-server.ts';
import { psql } from './helpers/clients.ts';
import { createTenant, destinationConn, poolerConfig, poolerConn, testLogger, type TestTenant } from './helpers/tenants.ts';

type Pooler = Awaited<ReturnType<typeof startPooler>>;

let pg: PostgresServer;
let pooler: Pooler | undefined;
const tenants: Record<'transaction' | 'session', TestTenant> = {} as Record<'transaction' | 'session', TestTenant>;

beforeAll(async () => {
  pg = await startPostgres();
  tenants.transaction = await createTenant(pg, { id: 'psql-txn', pool: { mode: 'transaction', size: 2 } });
  // Session mode: each psql holds a server connection for its whole run; the others queue.
  tenants.session = await createTenant(pg, { id: 'psql-session', pool: { mode: 'session', size: 2 } });
  for (const t of Object.values(tenants)) {
    const r = await psql(destinationConn(t), 'CREATE TABLE psql_items (id int, who text);');
    expect(r.stderr).toBe('');
  }
  pooler = await startPooler(poolerConfig([tenants.transaction.config, tenants.session.config]), { logger: testLogger() });
});

afterAll(async () => {
  await pooler?.close();
  await pg?.stop();
});

describe.each(['transaction', 'session'] as const)('psql through the pooler (%s mode)', (mode) => {
  it('runs simple queries and lands on the tenant database as the destination role', async () => {
    const t = tenants[mode];
    const r = await psql(poolerConn(pooler!, t), "SELECT current_database(), current_user;\nSELECT 'hello ' || 'world';\n");
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([`${t.destination.database}|${t.destination.user}`, 'hello world']);
  });

  it('runs several statements sent in one Query message', async () => {
    // `\;` makes psql send both statements in a single simple-Query message (psql docs, "\;").
    const r = await psql(poolerConn(pooler!, tenants[mode]), 'SELECT 1 \\; SELECT 2 \\; SELECT 3;\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['1', '2', '3']);
  });

  it('commits transactions from more concurrent psql processes than server connections', async () => {
    const t = tenants[mode];
    const whos = Array.from({ length: 6 }, (_, i) => `${mode}-commit-${i}`);
    const script = [
      'BEGIN;',
      "INSERT INTO psql_items VALUES (1, :'who');",
      "INSERT INTO psql_items VALUES (2, :'who');",
      // Inside the transaction the client sees its own two uncommitted rows: same backend throughout.
      "SELECT count(*) FROM psql_items WHERE who = :'who';",
      'SELECT pg_sleep(0.05);',
      'COMMIT;',
      "SELECT count(*) FROM psql_items WHERE who = :'who';",
      '',
    ].join('\n');
    const results = await Promise.all(whos.map((who) => psql(poolerConn(pooler!, t), script, { args: ['-v', `who=${who}`] })));
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(['2', '', '2']);
    }
    const direct = await psql(destinationConn(t), `SELECT who, count(*) FROM psql_items WHERE who LIKE '${mode}-commit-%' GROUP BY who ORDER BY who;`);
    expect(direct.stdout.trim().split('\n')).toEqual(whos.map((w) => `${w}|2`).sort());
  });

  it('reports an error inside a transaction, refuses further statements until ROLLBACK, then works', async () => {
    const t = tenants[mode];
    const who = `${mode}-rollback`;
    const script = [
      'BEGIN;',
      `INSERT INTO psql_items VALUES (1, '${who}');`,
      'SELECT 1/0;',
      "SELECT 'must not run';",
      'ROLLBACK;',
      `SELECT count(*) FROM psql_items WHERE who = '${who}';`,
      "SELECT 'still alive';",
      '',
    ].join('\n');
    const r = await psql(poolerConn(pooler!, t), script, { stopOnError: false });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('division by zero');
    expect(r.stderr).toContain('current transaction is aborted');
    expect(r.stdout).not.toContain('must not run');
    expect(r.stdout.trim().split('\n')).toEqual(['0', 'still alive']);
  });

  it('stops a script at the first error with ON_ERROR_STOP and exits 3', async () => {
    const r = await psql(poolerConn(pooler!, tenants[mode]), "SELECT 'before';\nSELECT * FROM no_such_table;\nSELECT 'after';\n");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('relation "no_such_table" does not exist');
    expect(r.stdout.trim()).toBe('before');
  });
});
