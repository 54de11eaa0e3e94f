// The reset after a transaction (backend/reset.ts) is DISCARD ALL, which returns the session to its
// start-up values. The pool opens a connection under the application_name of the client it is for
// (backend/pool.ts openServer), so for clients that share a name the reset is DISCARD ALL alone:
// no `SET application_name` statement after it, on every transaction (issue 15: a third statement
// per transaction on PostgreSQL, measured at +8 µs of PostgreSQL CPU and -15 % TPS at 50 clients).
// A client with another name, or none, still sees only its own name, and RESET brings it back to
// its own, not the name the connection opened under.
import { describe, expect, it } from 'vitest';
import { endAll, ProtocolClient } from '../helpers/raw-protocol.ts';
import { firstValue } from '../helpers/session-leaks.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('reset-app-name', { pool: { size: 1 } });

/** What the pool's backend last ran, once it is idle again after a reset (pg_stat_activity, read on PostgreSQL directly). */
async function lastStatementOfIdleBackend(pid: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  let last = '';
  while (Date.now() < deadline) {
    last = (await rig.pg.psql(`SELECT state || '|' || query FROM pg_stat_activity WHERE pid = ${pid}`, rig.tenant.destination.database)).trim();
    if (last.startsWith('idle|') && !last.includes('pg_backend_pid')) return last.slice('idle|'.length);
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

describe('the reset between transactions', () => {
  it('is DISCARD ALL alone for clients that share an application_name', async () => {
    const a = await ProtocolClient.connect(rig.conn(), { application_name: 'orders-api' });
    let b: ProtocolClient | undefined;
    let c: ProtocolClient | undefined;
    try {
      const pid = await firstValue(a, 'SELECT pg_backend_pid()::text');
      await firstValue(a, 'SELECT 1::text');
      expect(await lastStatementOfIdleBackend(pid!), 'the statement the reset ended with').toBe('DISCARD ALL');
      // Another client with the same name: the same backend, still one statement.
      b = await ProtocolClient.connect(rig.conn(), { application_name: 'orders-api' });
      expect(await firstValue(b, "SELECT current_setting('application_name') || ' ' || pg_backend_pid()")).toBe(`orders-api ${pid}`);
      expect(await lastStatementOfIdleBackend(pid!)).toBe('DISCARD ALL');
      // A client with another name runs under its own, and RESET returns it to its own.
      c = await ProtocolClient.connect(rig.conn(), { application_name: 'billing-worker' });
      expect(c.params.get('application_name')).toBe('billing-worker');
      expect(await firstValue(c, "SELECT current_setting('application_name') || ' ' || pg_backend_pid()")).toBe(`billing-worker ${pid}`);
      expect(await firstValue(c, 'RESET application_name; SELECT 1::text')).toBe('1');
      expect(c.params.get('application_name'), 'RESET returns the client to its own default').toBe('billing-worker');
      expect(await firstValue(c, "SELECT current_setting('application_name')")).toBe('billing-worker');
      await endAll([c]);
      c = undefined;
      // A client that names no application has none (as on PostgreSQL) and runs under none, never
      // under "orders-api", the name the pool's connection opened under.
      c = await ProtocolClient.connect(rig.conn(), { application_name: undefined });
      expect(c.params.get('application_name')).toBe('');
      expect(await firstValue(c, "SELECT '[' || current_setting('application_name') || '] ' || pg_backend_pid()")).toBe(`[] ${pid}`);
      expect(await firstValue(c, 'RESET application_name; SELECT 1::text')).toBe('1');
      expect(await firstValue(c, "SELECT '[' || current_setting('application_name') || ']'"), 'RESET: its own (none)').toBe('[]');
    } finally {
      await endAll([a, b, c]);
    }
  });
});
