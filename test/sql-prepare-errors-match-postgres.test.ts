// SQL PREPARE / EXECUTE / DEALLOCATE errors in transaction mode are PostgreSQL's own, message for
// message: SQLSTATE, wording (the client's statement name, never the pooler's server-side one),
// detail, and the error position (psql's "LINE 1:" caret) in the client's own text. The same psql
// script runs against PostgreSQL directly and through the pooler (pool of one server connection,
// shared with another client, reset between transactions); the outputs must be identical.
import { expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, psql } from './helpers/clients.ts';
import { destinationConn } from './helpers/tenants.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-errors', { pool: { size: 1 } });

const LONG = 'a'.repeat(30) + 'b'.repeat(30) + 'c'.repeat(10);

const SCRIPT = `
\\set VERBOSITY verbose
PREPARE q(int) AS SELECT $1 + 1 AS n;
PREPARE q(int) AS SELECT $1 + 2;
PREPARE q AS SELEC 1;
PREPARE Q(int) AS SELECT nosuchcol;
PREPARE bad AS SELECT nosuchcol;
EXECUTE bad;
PREPARE bad2 AS SELEC 1;
EXECUTE nope;
EXECUTE q;
EXECUTE q(1, 2);
EXECUTE q('x');
  /* lead */  EXECUTE   q ( 'y' );
EXECUTE q(41);
EXPLAIN (COSTS OFF) EXECUTE q('z');
DEALLOCATE nope;
BEGIN;
SELECT 1/0;
EXECUTE q(1);
PREPARE r AS SELECT 1;
ROLLBACK;
EXECUTE r;
PREPARE ${LONG} AS SELECT 'long' AS l;
EXECUTE ${LONG.slice(0, 63)};
EXECUTE ${LONG};
DEALLOCATE ${LONG};
EXECUTE ${LONG.slice(0, 63)};
PREPARE "Mixed Case" AS SELECT 'mixed' AS m;
EXECUTE "Mixed Case";
EXECUTE mixed;
PREPARE "" AS SELECT 1;
DEALLOCATE PREPARE q;
EXECUTE q(1);
PREPARE q(int) AS SELECT $1 + 3 AS n;
EXECUTE q(1);
DEALLOCATE ALL;
EXECUTE q(1);
`;

it('psql: every error and notice as PostgreSQL reports it', async () => {
  const direct = await psql(destinationConn(rig.tenant), SCRIPT, { stopOnError: false });
  // Another client takes the one server connection between the script's transactions.
  const other = await connectPg(rig.conn());
  let stop = false;
  const busy = (async () => {
    while (!stop) await other.query('SELECT 1');
  })();
  try {
    const through = await psql(rig.conn(), SCRIPT, { stopOnError: false });
    // The one difference: the pooler says the name's truncation NOTICE itself (the server never
    // sees the long name), without PostgreSQL's source location (LOCATION: file, line, routine).
    const expected = direct.stderr.replaceAll('LOCATION:  truncate_identifier, scansup.c:99\n', '');
    expect(through.stderr).toBe(expected);
    expect(through.stdout).toBe(direct.stdout);
    // The script did produce the errors it is about.
    for (const code of ['42P05', '42601', '42703', '26000', '22P02', '25P02', '42622']) expect(direct.stderr).toContain(code);
  } finally {
    stop = true;
    await busy;
    await endQuietly(other);
  }
}, 120_000);

it('node-postgres: the error fields of a failed EXECUTE and PREPARE are PostgreSQL’s', async () => {
  const fields = async (conn: ReturnType<typeof destinationConn>): Promise<unknown[]> => {
    const c = await connectPg(conn);
    const out: unknown[] = [];
    const grab = async (sql: string): Promise<void> => {
      try {
        await c.query(sql);
        out.push('ok');
      } catch (err) {
        const e = err as Record<string, unknown>;
        out.push({ ...pgErrorInfo(err), position: e.position, detail: e.detail, routine: e.routine });
      }
    };
    try {
      await grab('PREPARE s(int) AS SELECT $1');
      await grab('SELECT 1');
      await grab('EXECUTE s');
      await grab("EXECUTE s('nope')");
      await grab('PREPARE s AS SELECT nosuchcol');
      await grab('PREPARE s AS SELECT 1');
      await grab('EXECUTE missing(1)');
    } finally {
      await endQuietly(c);
    }
    return out;
  };
  expect(await fields(rig.conn())).toEqual(await fields(destinationConn(rig.tenant)));
}, 60_000);
