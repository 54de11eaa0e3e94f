// What the pooler cannot map of SQL PREPARE / EXECUTE in transaction mode is refused with a clear
// error (ERROR 0A000, docs/errors.md SQL_PREPARE_NOT_MAPPED), as a failed statement — never sent
// to the server under a name it does not know, never a malformed message: EXECUTE of a client
// statement in a query with several statements, EXECUTE of a name prepared with the extended
// protocol, Bind/Describe of a name prepared with SQL PREPARE. A Parse of a name the client
// prepared with SQL PREPARE gets PostgreSQL's 42P05. The client's session goes on.
import { expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from './helpers/clients.ts';
import { ProtocolClient, bind, describe as describeMsg, errorCodes, execute, parse, query, rows, sync } from './helpers/raw-protocol.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-refused', { pool: { size: 1 } });

it('node-postgres: EXECUTE in a multi-statement query, and EXECUTE of a Parse name, are refused with 0A000', async () => {
  const c = await connectPg(rig.conn());
  try {
    await c.query('PREPARE q AS SELECT 1 AS one');
    const multi = pgErrorInfo(await rejectionOf(c.query('EXECUTE q; SELECT 2')));
    expect([multi.code, multi.severity]).toEqual(['0A000', 'ERROR']);
    expect(multi.message).toContain('prepared statement "q"');
    // Inside a transaction block the refusal fails the block, as any error.
    await c.query('BEGIN');
    expect(pgErrorInfo(await rejectionOf(c.query('EXECUTE q; SELECT 2'))).code).toBe('0A000');
    expect(pgErrorInfo(await rejectionOf(c.query('SELECT 3'))).code).toBe('25P02');
    await c.query('ROLLBACK');
    // A protocol-level named statement, then SQL EXECUTE of it.
    await c.query({ name: 'named', text: 'SELECT 2 AS two' });
    const cross = pgErrorInfo(await rejectionOf(c.query('EXECUTE named')));
    expect([cross.code, cross.message]).toEqual(['0A000', 'prepared statement "named" was prepared with the extended protocol: EXECUTE of it is not supported in transaction pooling mode']);
    // The session goes on; both statements still work their own way.
    expect((await c.query('EXECUTE q')).rows).toEqual([{ one: 1 }]);
    expect((await c.query({ name: 'named', text: 'SELECT 2 AS two' })).rows).toEqual([{ two: 2 }]);
  } finally {
    await endQuietly(c);
  }
}, 60_000);

it('raw protocol: Bind and Describe of an SQL-prepared name are refused; a Parse of it gets 42P05', async () => {
  const c = await ProtocolClient.connect(rig.conn());
  try {
    await c.request(query('PREPARE s AS SELECT 5 AS five'));
    expect(errorCodes(await c.request(bind('', 's'), execute(), sync()))).toEqual(['0A000']);
    expect(errorCodes(await c.request(describeMsg('S', 's'), sync()))).toEqual(['0A000']);
    expect(errorCodes(await c.request(parse('s', 'SELECT 6'), sync()))).toEqual(['42P05']);
    // The server connection was not harmed: the same client and its statement go on.
    expect(rows(await c.request(query('EXECUTE s')))).toEqual([['5']]);
  } finally {
    await c.end();
  }
}, 60_000);
