// statement_timeout set by one transaction-mode client is its own (issue 14 item 1): it holds for
// that client in every later transaction, whichever server connection runs it (it survives
// checkout), and never for another client sharing those connections.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('st-own', { pool: { size: 2 } });

describe('statement_timeout stays with the client that set it', () => {
  it('holds for its client in every transaction and never for the others', async () => {
    const strict = await connectPg(rig.conn());
    const others = await Promise.all([connectPg(rig.conn()), connectPg(rig.conn())]);
    try {
      await strict.query("SET statement_timeout = '200ms'");
      for (let round = 0; round < 4; round++) {
        // The others run a query longer than 200 ms on the same two server connections.
        await Promise.all(others.map((o) => o.query('SELECT pg_sleep(0.4)')));
        for (const o of others) expect((await o.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('0');
        const err = pgErrorInfo(await rejectionOf(strict.query('SELECT pg_sleep(2)')));
        expect(err.code, err.message).toBe('57014');
        expect((await strict.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('200ms');
      }
    } finally {
      await Promise.all([strict, ...others].map((c) => endQuietly(c)));
    }
  });
});
