// The pool opens a server connection under the application_name of the client it is for
// (backend/pool.ts openServer, a5c3855), so a connection's start-up name is now some client's
// name, not the pooler's own. The reply inspector (frontend/reply-inspector.ts onParameterStatus)
// reads a ParameterStatus equal to the connection's start-up value as "back to the default" and
// tells the client its own default instead. A client that SETs its application_name to the name
// another client of the tenant logged in with is therefore told its old name, keeps it, and has it
// SET back on its next transaction: its own SET is lost. (Before a5c3855 only the value
// 'switchyard' did this.) The capture of the session's settings at the transaction's end reads
// pg_settings' source, which tells a SET from a RESET: the client is told again (client.ts captured).
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('set-app-name-other', { pool: { size: 1 } });

describe('SET application_name', () => {
  it('to the name another client logged in with is kept', async () => {
    // The pool's one connection opens under "orders-api".
    const a = await ProtocolClient.connect(rig.conn(), { application_name: 'orders-api' });
    let c: ProtocolClient | undefined;
    try {
      expect(await firstValue(a, "SELECT current_setting('application_name')")).toBe('orders-api');
      c = await ProtocolClient.connect(rig.conn(), { application_name: 'billing-worker' });
      expect(await firstValue(c, "SET application_name = 'orders-api'; SELECT current_setting('application_name')")).toBe('orders-api');
      expect(await firstValue(c, "SELECT current_setting('application_name')"), 'its next transaction').toBe('orders-api');
      // Told at the latest before its next transaction's answer (the transaction's end tells the
      // pooler what PostgreSQL holds: a SET, not a RESET).
      expect(c.params.get('application_name'), 'the ParameterStatus the client was told').toBe('orders-api');
      // RESET still takes it back to its own start-up name, not the connection's.
      expect(await firstValue(c, "RESET application_name; SELECT current_setting('application_name')")).toBe('orders-api');
      expect(await firstValue(c, "SELECT current_setting('application_name')"), 'and runs under it').toBe('billing-worker');
      expect(c.params.get('application_name'), 'told its own default').toBe('billing-worker');
    } finally {
      await endAll([a, c]);
    }
  });
});
