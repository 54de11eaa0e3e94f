// SQL PREPARE names are each client's own in transaction mode, as each would have its own server
// session: two clients preparing the same name with different statements, sharing one server
// connection, each execute their own — and the same text prepared by two clients under different
// names is one server-side statement (one entry in the server's pg_prepared_statements).
import { expect, it } from 'vitest';
import { connectPg, endQuietly, psql } from './helpers/clients.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-names', { pool: { size: 1 } });

it('two clients, one name, different statements: each executes its own', async () => {
  const a = await connectPg(rig.conn());
  const b = await connectPg(rig.conn());
  try {
    await a.query("PREPARE mine AS SELECT 'from a' AS who");
    await b.query("PREPARE mine(int) AS SELECT 'from b' AS who, $1 AS n");
    for (let i = 0; i < 5; i++) {
      const [ra, rb] = await Promise.all([a.query('EXECUTE mine'), b.query(`EXECUTE mine(${i})`)]);
      expect(ra.rows).toEqual([{ who: 'from a' }]);
      expect(rb.rows).toEqual([{ who: 'from b', n: i }]);
    }
    // Inside one transaction block, both on the one server connection in turn.
    await a.query('BEGIN');
    expect((await a.query('EXECUTE mine')).rows).toEqual([{ who: 'from a' }]);
    await a.query('COMMIT');
    expect((await b.query('EXECUTE mine(9)')).rows).toEqual([{ who: 'from b', n: 9 }]);
    // psql, a third client, has no statement of that name.
    const r = await psql(rig.conn(), 'EXECUTE mine;\n', { stopOnError: false });
    expect(r.stderr).toContain('ERROR:  prepared statement "mine" does not exist');
  } finally {
    await endQuietly(a);
    await endQuietly(b);
  }
}, 60_000);

it('the same text under two clients’ names is one server-side statement', async () => {
  const a = await connectPg(rig.conn());
  const b = await connectPg(rig.conn());
  try {
    await a.query('PREPARE first_name AS SELECT 42 AS answer');
    await b.query('PREPARE second_name AS SELECT 42 AS answer');
    await a.query('BEGIN');
    await a.query('EXECUTE first_name');
    const names = await a.query<{ name: string; from_sql: boolean }>('SELECT name, from_sql FROM pg_prepared_statements');
    await a.query('COMMIT');
    // One statement, under the pooler's name (pg_prepared_statements is a documented difference).
    expect(names.rows).toHaveLength(1);
    expect(names.rows[0]!.name).toMatch(/^sy_[A-Za-z0-9_-]{22}$/);
    expect(names.rows[0]!.from_sql).toBe(true);
    await b.query('BEGIN');
    expect((await b.query('EXECUTE second_name')).rows).toEqual([{ answer: 42 }]);
    const seen = await b.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
    await b.query('COMMIT');
    expect(seen.rows.map((r) => r.name)).toEqual([names.rows[0]!.name]);
  } finally {
    await endQuietly(a);
    await endQuietly(b);
  }
}, 60_000);
