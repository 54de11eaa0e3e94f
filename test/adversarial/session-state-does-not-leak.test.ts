// Nothing one client leaves in its server session reaches the next client (issue 10, item 5).
// Pool size 1, so the next client gets the very same backend (checked by pid). Client A leaves a
// piece of session state behind — openly (SET ROLE, PREPARE, LISTEN is refused anyway) or hidden
// where the pooler cannot see it (set_config in a SELECT, a DO block, a function) — and client B
// must find none of it. Transaction mode: A stays connected, B runs right after A's transaction.
// Session mode: A leaves, and its server connection goes to B (DISCARD ALL, as before).
import { describe, expect, it } from 'vitest';
import { MODES, poolerPerMode } from '../helpers/pooler-per-mode.ts';
import { bind, endAll, errorFields, execute, parse, ProtocolClient, query, rows, sync } from '../helpers/raw-protocol.ts';
import { firstValue, LEAKS, prepareLeaks } from '../helpers/session-leaks.ts';

const { tenants, pooled } = poolerPerMode('leak', { transaction: 1, session: 1 }, (server, t) => prepareLeaks(server, Object.values(t)));

describe.each(MODES)('%s mode', (mode) => {
  it.each(LEAKS)('$name does not reach the next client', async (leak) => {
    const t = tenants[mode];
    const owner = t.destination.user;
    const a = await ProtocolClient.connect(pooled(t));
    let b: ProtocolClient | undefined;
    try {
      const pidA = await firstValue(a, 'SELECT pg_backend_pid()');
      const left = await a.request(query(leak.leave.replaceAll('{owner}', owner)));
      const err = left.find((m) => m.type === 'E');
      expect(err, `client A's statement failed: ${err?.body.toString('latin1')}`).toBeUndefined();
      if (mode === 'session') await a.end();
      b = await ProtocolClient.connect(pooled(t));
      expect(await firstValue(b, 'SELECT pg_backend_pid()'), 'the same server connection (pool size 1)').toBe(pidA);
      expect(await firstValue(b, leak.check)).toBe(leak.clean);
    } finally {
      await endAll([a, b]);
    }
  });
});

describe('transaction mode', () => {
  it('a tracked SET by one client is not the default a later login is told', async () => {
    const t = tenants.transaction;
    const a = await ProtocolClient.connect(pooled(t));
    const before = a.params.get('DateStyle');
    // A's SET is in force on the server connection while B logs in (A's transaction is open).
    await a.simple("BEGIN; SET DateStyle = 'SQL, DMY'");
    const b = await ProtocolClient.connect(pooled(t), { application_name: 'a_later_login' });
    try {
      expect(b.params.get('DateStyle'), 'DateStyle B was told at login').toBe(before);
      await a.simple('COMMIT');
      expect(await b.simple('SHOW DateStyle')).toEqual([[before]]);
    } finally {
      await endAll([a, b]);
    }
  });

  it('a reset that fails ends the backend before the next client’s requests run', async () => {
    // Client A leaves 3000 temporary tables and a statement_timeout of 20 ms: the reset's DISCARD
    // ALL (dropping the tables) runs past the timeout and fails. Client B's two pipelined requests,
    // sent right behind the reset, must not run on A's session: B gets an error (the server
    // connection was lost) or a fresh session, never A's tables.
    const t = tenants.transaction;
    const a = await ProtocolClient.connect(pooled(t));
    const b = await ProtocolClient.connect(pooled(t));
    try {
      const pidA = (await a.simple('SELECT pg_backend_pid()'))[0]![0]!;
      await a.simple("DO $$ BEGIN FOR i IN 1..3000 LOOP EXECUTE format('CREATE TEMP TABLE a_temp_%s (id int)', i); END LOOP; END $$; SET statement_timeout = '20ms'");
      // Each request records where it ran: a request on A's session would show even if its reply
      // never reached B (the pooler drops a failed connection's remaining replies).
      const probe = (): Buffer[] => [parse('', "INSERT INTO probe_log SELECT to_regclass('pg_temp.a_temp_1') IS NULL, pg_backend_pid()"), bind('', ''), execute(), sync()];
      const msgs = await b.request(...probe(), ...probe());
      for (const e of msgs.filter((m) => m.type === 'E')) expect(errorFields(e.body).C).toBe('08006');
      const log = await b.simple('SELECT clean::text, pid::text FROM probe_log');
      expect(log.map((r) => r[0]), 'a request of B ran on A’s session').not.toContain('false');
      expect(log.map((r) => r[1]), 'a request of B ran on A’s backend').not.toContain(pidA);
      // B's session goes on, on a fresh server connection.
      expect(await b.simple("SELECT to_regclass('pg_temp.a_temp_1') IS NULL")).toEqual([['t']]);
    } finally {
      await endAll([a, b]);
    }
  });

  it('the prepared statements the pooler keeps still work after a client’s state was reset', async () => {
    // Named statements (tracked mode) live on the server connection; a reset between clients
    // must not leave the pooler believing in statements the server dropped.
    const t = tenants.transaction;
    const a = await ProtocolClient.connect(pooled(t));
    const b = await ProtocolClient.connect(pooled(t));
    try {
      for (let round = 0; round < 3; round++) {
        for (const c of [a, b]) {
          const name = `s_${round}`;
          const msgs = await c.request(parse(name, 'SELECT $1::int + 1', [23]), bind('', name, ['41']), execute(), sync());
          expect(msgs.map((m) => m.type).join(''), 'no error').not.toContain('E');
          // Hidden state too, so every release resets.
          await c.simple("SELECT set_config('app.x', 'y', false)");
          const again = await c.request(bind('', name, ['1']), execute(), sync());
          expect(again.map((m) => m.type).join('')).not.toContain('E');
        }
      }
    } finally {
      await endAll([a, b]);
    }
  });
});
