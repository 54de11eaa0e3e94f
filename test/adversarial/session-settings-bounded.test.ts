// What a transaction-mode client's session settings may cost the pooler is bounded (issue 14
// item 1): a hostile client SETting more than 100 settings, or 64 KiB of them, is ended with FATAL
// 53400 (SESSION_SETTINGS_LIMIT) after the transaction that passed the bound, instead of the
// pooler keeping (and replaying) them all; the server connection is clean for the next client.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';

/** The ParameterStatus settings, kept apart (session-params.ts): not counted. */
const OWN_SESSION = "SELECT count(*) AS n FROM pg_settings WHERE source = 'session' AND name NOT IN ('application_name', 'IntervalStyle', 'DateStyle', 'TimeZone', 'client_encoding', 'standard_conforming_strings')";

const rig = sessionRig('settings-bound', { pool: { size: 1 } });

/**
 * SETs of `n` user-settable settings to their current values (each becomes a session setting);
 * temp_buffers is not among them: it is not carried between transactions (docs/transaction-mode.md).
 */
async function setMany(c: PgClient, n: number): Promise<string> {
  const r = await c.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE context = 'user' AND vartype IN ('integer', 'real', 'bool', 'enum') AND name NOT LIKE 'transaction%' AND name NOT IN ('IntervalStyle', 'DateStyle', 'TimeZone', 'client_encoding', 'standard_conforming_strings', 'temp_buffers') ORDER BY name",
  );
  expect(r.rows.length).toBeGreaterThan(n - 1);
  return r.rows
    .slice(0, n)
    .map((x) => `SET "${x.name}" TO '${x.setting}'`)
    .join('; ');
}

describe('session settings per client are bounded', () => {
  it('101 settings end the client with 53400; 100 are kept', async () => {
    const fine = await connectPg(rig.conn());
    const hostile = await connectPg(rig.conn());
    const other = await connectPg(rig.conn());
    try {
      await fine.query(`${await setMany(fine, 100)}`);
      await other.query('SELECT 1');
      expect((await fine.query<{ n: string }>(OWN_SESSION)).rows[0]!.n).toBe('100');

      // The SETs themselves succeed (the server took them); the client learns the refusal with
      // its next request.
      await hostile.query(await setMany(hostile, 101));
      const err = pgErrorInfo(await rejectionOf(hostile.query('SELECT 1')));
      expect(err.code, err.message).toBe('53400');
      expect(err.message).toMatch(/too many session settings/);
      // Nothing of it reached the connection the next client gets.
      expect((await other.query<{ n: string }>(OWN_SESSION)).rows[0]!.n).toBe('0');
    } finally {
      await Promise.all([endQuietly(fine), endQuietly(hostile), endQuietly(other)]);
    }
  });

  it('settings of more than 64 KiB end the client with 53400', async () => {
    const hostile = await connectPg(rig.conn());
    try {
      const names = Array.from({ length: 1200 }, (_, i) => `s${String(i).padStart(4, '0')}${'x'.repeat(55)}`);
      await hostile.query(`SET search_path TO ${names.join(', ')}`);
      const err = pgErrorInfo(await rejectionOf(hostile.query('SELECT 1')));
      expect(err.code, err.message).toBe('53400');
    } finally {
      await endQuietly(hostile);
    }
  });
});
