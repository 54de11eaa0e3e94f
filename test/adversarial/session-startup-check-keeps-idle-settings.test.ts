// A login's start-up settings are checked on a pooled server connection (startup-check.ts): SET
// there, then RESET. That connection may be idle with the last client's settings put back by the
// reset (session-settings.ts restoreAfterReset), and the pooler remembers them on it
// (ServerConnection.session). The check's RESET takes those names back to the server's default: the
// pooler must forget them too, or the next checkout of the client that set them skips the SET (the
// connection "has" its settings) and the client silently runs without its own statement_timeout.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';

const rig = sessionRig('startup-check-idle', { pool: { size: 1 } });

async function show(c: PgClient, name: string): Promise<string> {
  return (await c.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
}

describe("a login's start-up check does not take another client's settings away", () => {
  it('keeps statement_timeout of the client whose settings the idle connection holds', async () => {
    const a = await connectPg(rig.conn());
    let b: PgClient | undefined;
    try {
      await a.query("SET statement_timeout = '150ms'");
      // A second transaction: the reset after it puts a's settings back on the idle connection.
      expect(await show(a, 'statement_timeout')).toBe('150ms');
      // b logs in with its own statement_timeout: checked on that connection (pool size 1).
      b = await connectPg(rig.conn(), { options: '-c statement_timeout=300s' });
      expect(await show(a, 'statement_timeout')).toBe('150ms');
      expect(pgErrorInfo(await rejectionOf(a.query('SELECT pg_sleep(3)'))).code).toBe('57014');
      expect(await show(b, 'statement_timeout')).toBe('5min');
    } finally {
      await endQuietly(a);
      await endQuietly(b);
    }
  });
});
