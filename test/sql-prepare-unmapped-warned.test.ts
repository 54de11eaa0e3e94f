// A SQL PREPARE the pooler does not map in transaction mode — one that follows another statement
// in the same Query — still runs on the server as before (its statement is the server
// connection's, gone with the reset when the connection next changes hands), and the client is told so: its
// CommandComplete is followed by a WARNING. A PREPARE sent as a query of its own gets none.
import { expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from './helpers/clients.ts';
import { sessionRig } from './helpers/session-rig.ts';

const rig = sessionRig('sqlprep-unmapped', { pool: { size: 1 } });

it('PREPARE after another statement in one Query: runs for the transaction, with a WARNING', async () => {
  const c = await connectPg(rig.conn());
  const notices: { severity?: string; code?: string; message: string }[] = [];
  c.on('notice', (n) => notices.push({ severity: (n as { severity?: string }).severity, code: (n as { code?: string }).code, message: String(n.message) }));
  try {
    await c.query('BEGIN; PREPARE w AS SELECT 5 AS five');
    expect((await c.query('EXECUTE w')).rows).toEqual([{ five: 5 }]);
    await c.query('COMMIT');
    expect(notices).toEqual([
      { severity: 'WARNING', code: '01000', message: 'this prepared statement is not kept beyond the transaction in transaction pooling mode' },
    ]);
    // Alone on its pool, the client keeps its connection unreset (lazy reset, backend/pool.ts
    // park); another client's transaction takes it, reset: the statement is gone.
    const other = await connectPg(rig.conn());
    await other.query('SELECT 1');
    await endQuietly(other);
    expect(pgErrorInfo(await rejectionOf(c.query('EXECUTE w'))).code).toBe('26000');
    // Sent as a query of its own, it is the client's: no warning, and it lasts.
    await c.query('PREPARE kept AS SELECT 6 AS six');
    expect((await c.query('EXECUTE kept')).rows).toEqual([{ six: 6 }]);
    expect(notices).toHaveLength(1);
  } finally {
    await endQuietly(c);
  }
}, 60_000);
