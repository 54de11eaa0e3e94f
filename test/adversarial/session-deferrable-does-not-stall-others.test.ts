// The reset gives an idle server connection the last client's settings back (session-settings.ts
// restoreAfterReset), so the next client's checkout Query runs in a transaction begun under them.
// With default_transaction_isolation serializable, default_transaction_read_only and
// default_transaction_deferrable on, the checkout's `SELECT set_config(...)` waits for a safe
// snapshot (PostgreSQL: a SERIALIZABLE READ ONLY DEFERRABLE transaction waits until no serializable
// read-write transaction is running): one client's settings stalled another client's checkout for
// as long as any serializable transaction ran elsewhere, until the pooler gave up on the connection
// (5 s) and closed it.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, type PgClient } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { destinationConn } from '../helpers/tenants.ts';

const rig = sessionRig('deferrable', { pool: { size: 1 } });

async function pid(c: PgClient): Promise<number> {
  return (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
}

describe("a client's deferrable default does not stall another client's checkout", () => {
  it('keeps the server connection and does not wait for a serializable transaction elsewhere', async () => {
    const a = await connectPg(rig.conn());
    const b = await connectPg(rig.conn());
    const elsewhere = await connectPg(destinationConn(rig.tenant));
    try {
      await b.query("SET work_mem = '8MB'");
      await a.query("SET default_transaction_isolation = 'serializable'; SET default_transaction_read_only = on; SET default_transaction_deferrable = on");
      // a's next transaction: the reset after it puts a's settings back on the idle connection.
      const server = await pid(a);
      // A serializable read-write transaction outside the pooler, left open.
      await elsewhere.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await elsewhere.query('SELECT 1');
      // b's checkout gives that connection b's settings: it must neither wait nor lose the connection.
      expect(await pid(b)).toBe(server);
      await elsewhere.query('COMMIT');
    } finally {
      await Promise.all([a, b, elsewhere].map((c) => endQuietly(c)));
    }
  });
});
