// SQL DEALLOCATE in transaction mode drops the client's own statement names (answered by the
// pooler when the name is the client's: the server-side statement stays for other clients), as
// PostgreSQL would for its session: the name is gone (26000 on EXECUTE), can be prepared again
// (no 42P05), DEALLOCATE ALL drops them all. A DEALLOCATE the pooler answers alone still gives the
// server connection back: another client of a pool of one is served right after it.
import { expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, psql, rejectionOf, within, type PgClient } from './helpers/clients.ts';
import { destinationConn } from './helpers/tenants.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-dealloc', { pool: { size: 1, checkout_timeout: 20 } });

const SCRIPT = `
PREPARE d1 AS SELECT 1 AS one;
PREPARE d2 AS SELECT 2 AS two;
PREPARE "D3" AS SELECT 3 AS three;
DEALLOCATE d1;
EXECUTE d1;
PREPARE d1 AS SELECT 11 AS one;
EXECUTE d1;
DEALLOCATE PREPARE d2;
EXECUTE d2;
DEALLOCATE d2;
DEALLOCATE "D3";
EXECUTE "D3";
PREPARE d2 AS SELECT 22 AS two;
BEGIN;
DEALLOCATE d2;
EXECUTE d2;
ROLLBACK;
EXECUTE d2;
BEGIN;
SELECT 1/0;
DEALLOCATE d1;
ROLLBACK;
EXECUTE d1;
DEALLOCATE ALL;
EXECUTE d1;
PREPARE d1 AS SELECT 111 AS one;
EXECUTE d1;
`;

it('psql: DEALLOCATE as on PostgreSQL', async () => {
  const direct = await psql(destinationConn(rig.tenant), SCRIPT, { stopOnError: false });
  const through = await psql(rig.conn(), SCRIPT, { stopOnError: false });
  expect(direct.stderr).toContain('prepared statement "d1" does not exist');
  expect(through.stderr).toBe(direct.stderr);
  expect(through.stdout).toBe(direct.stdout);
}, 60_000);

it.each([
  ['SQL PREPARE', (c: PgClient) => c.query('PREPARE gone AS SELECT 1')],
  // The same held for protocol-level statements before (a named Parse, then SQL DEALLOCATE).
  ['a named Parse', (c: PgClient) => c.query({ name: 'gone', text: 'SELECT 1' })],
] as const)('a DEALLOCATE answered by the pooler gives the server connection back (%s)', async (_how, prepare) => {
  const a = await connectPg(rig.conn());
  const b = await connectPg(rig.conn());
  try {
    await prepare(a);
    await a.query('DEALLOCATE gone');
    // The pool has one server connection: b gets it only if a's DEALLOCATE released it.
    const r = await within(b.query<{ n: number }>('SELECT 7 AS n'), 10_000, 'another client served after a local DEALLOCATE');
    expect(r.rows).toEqual([{ n: 7 }]);
    const err = pgErrorInfo(await rejectionOf(a.query('EXECUTE gone')));
    expect(err.code).toBe('26000');
  } finally {
    await endQuietly(a);
    await endQuietly(b);
  }
}, 60_000);
