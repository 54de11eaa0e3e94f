// After DISCARD ALL a connection's tracked parameters are back at the values it opened with, and the
// reset puts the last client's back (backend/reset.ts). Connections of one pool open under
// different application_names (the client each is opened for, backend/pool.ts openServer), so what
// the reset must put back depends on the connection, not only on the client. Remembered per client
// alone, a connection opened under "orders-api" taught the reset "nothing to put back" for that
// client; on the connection opened under "reporting" the reset then went ahead of a waiting
// client's request with nothing put back (backend/reset-ahead.ts), and that client ran as
// "reporting". Pool size 2; idle connections are reused last in, first out.
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/clients.ts';
import { endAll, errorCodes, ProtocolClient, query, rows } from '../helpers/raw-protocol.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('restore-per-conn', { pool: { size: 2 } });

const pid = (c: ProtocolClient): Promise<string | null> => firstValue(c, 'SELECT pg_backend_pid()::text');
const stats = () => rig.pooler.poolStats().find((p) => p.tenantId === rig.tenant.id);
/** Both connections back in the pool, reset: the next checkout takes the last one back. */
const bothIdle = () => until(() => stats()?.serversIdle === 2, 10_000, 'both connections idle');

describe('the reset puts back what the connection needs', () => {
  it('per connection, whatever name each connection opened under', async () => {
    // The pool's first connection opens for R's login: under "reporting".
    const r = await ProtocolClient.connect(rig.conn(), { application_name: 'reporting' });
    const a = await ProtocolClient.connect(rig.conn(), { application_name: 'orders-api' });
    const h = await ProtocolClient.connect(rig.conn(), { application_name: 'holder' });
    const w = await ProtocolClient.connect(rig.conn(), { application_name: 'orders-api' });
    try {
      expect(errorCodes(await r.request(query('BEGIN')))).toEqual([]);
      const reporting = await pid(r);
      // That one busy: the second connection opens for A, under "orders-api"; A's reset there
      // has nothing to put back.
      const own = await pid(a);
      expect(own).not.toBe(reporting);
      expect(errorCodes(await r.request(query('COMMIT')))).toEqual([]);
      await bothIdle();
      // A now gets the "reporting" connection (the last one back): its name is SET at checkout, and
      // the reset after its transaction SETs it back. A's next transaction there needs no SET.
      for (let i = 0; i < 2; i++) {
        expect(errorCodes(await a.request(query('BEGIN')))).toEqual([]);
        expect(await pid(a)).toBe(reporting);
        expect(await firstValue(a, "SELECT current_setting('application_name')")).toBe('orders-api');
        if (i === 0) {
          expect(errorCodes(await a.request(query('COMMIT')))).toEqual([]);
          await bothIdle();
        }
      }
      // H holds the other one; W queues.
      expect(errorCodes(await h.request(query('BEGIN')))).toEqual([]);
      expect(await pid(h)).toBe(own);
      const answer = w.request(query("SELECT current_setting('application_name') || ' ' || pg_backend_pid()"));
      await until(() => stats()?.clientsWaiting === 1, 10_000, 'W waiting');
      // A's transaction ends while W waits: DISCARD ALL returns the connection to "reporting", and
      // the reset must give it "orders-api" back before W runs there.
      expect(errorCodes(await a.request(query('COMMIT')))).toEqual([]);
      const replies = await answer;
      expect(errorCodes(replies)).toEqual([]);
      expect(rows(replies), 'W runs under its own name').toEqual([[`orders-api ${reporting}`]]);
      expect(errorCodes(await h.request(query('COMMIT')))).toEqual([]);
    } finally {
      await endAll([r, a, h, w]);
    }
  });
});
