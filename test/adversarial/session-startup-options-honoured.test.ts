// Start-up settings in transaction mode (issue 14 item 1), as PostgreSQL takes them: `options`
// (`-c name=value`, `--name=value`, backslash escapes), any other start-up key naming a setting,
// and Perseus's `schema_search_path` as search_path. They hold in every transaction, RESET returns
// to them (as PostgreSQL's reset value is the start-up value), and a bad one ends the login with
// the FATAL PostgreSQL itself sends (compared with a direct connection).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo, rejectionOf, type PgClient } from '../helpers/clients.ts';
import { LoginRefused, ProtocolClient } from '../helpers/raw-protocol.ts';
import { createMarkedSchemas, sessionRig } from '../helpers/session-rig.ts';
import { destinationConn } from '../helpers/tenants.ts';

const rig = sessionRig('startup-opts', { pool: { size: 1 }, prepare: (pg, t) => createMarkedSchemas(pg, t, ['s_one', 's two']) });

async function show(c: PgClient, name: string): Promise<string> {
  return (await c.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
}

/** The FATAL a login with `params` gets (throws if it is not refused). */
async function refusal(conn: Parameters<typeof ProtocolClient.connect>[0], params: Record<string, string>): Promise<Record<string, string>> {
  const err = await rejectionOf(ProtocolClient.connect(conn, params));
  if (!(err instanceof LoginRefused)) throw new Error(`not refused: ${String(err)}`);
  const { S, V, C, M, D, H } = err.fields;
  return Object.fromEntries(Object.entries({ S, V, C, M, D, H }).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

describe('start-up settings are honoured in transaction mode', () => {
  it('options -c statement_timeout holds in every transaction, and RESET returns to it', async () => {
    const c = await connectPg(rig.conn(), { options: '-c statement_timeout=150ms' });
    const other = await connectPg(rig.conn());
    try {
      for (let i = 0; i < 3; i++) {
        expect(await show(c, 'statement_timeout')).toBe('150ms');
        expect(pgErrorInfo(await rejectionOf(c.query('SELECT pg_sleep(2)'))).code).toBe('57014');
        expect(await show(other, 'statement_timeout')).toBe('0');
      }
      await c.query('SET statement_timeout = 0');
      await other.query('SELECT 1');
      expect(await show(c, 'statement_timeout')).toBe('0');
      await c.query('RESET statement_timeout');
      await other.query('SELECT 1');
      expect(await show(c, 'statement_timeout')).toBe('150ms');
    } finally {
      await Promise.all([endQuietly(c), endQuietly(other)]);
    }
  });

  it('--name=value, -cname=value and backslash escapes are split as PostgreSQL splits them', async () => {
    const c = await connectPg(rig.conn(), { options: '--lock-timeout=2s -cwork_mem=5MB -c search_path="s\\ two",s_one' });
    const other = await connectPg(rig.conn());
    try {
      for (let i = 0; i < 3; i++) {
        expect(await show(c, 'lock_timeout')).toBe('2s');
        expect(await show(c, 'work_mem')).toBe('5MB');
        expect((await c.query<{ v: string }>('SELECT v FROM marker')).rows[0]!.v).toBe('s two');
        expect(await show(other, 'work_mem')).toBe('4MB');
      }
    } finally {
      await Promise.all([endQuietly(c), endQuietly(other)]);
    }
  });

  it('schema_search_path (Perseus) is search_path', async () => {
    const c = await ProtocolClient.connect(rig.conn(), { schema_search_path: 's_one' });
    const other = await connectPg(rig.conn());
    try {
      for (let i = 0; i < 3; i++) {
        expect(await c.simple('SELECT v FROM marker')).toEqual([['s_one']]);
        expect(await show(other, 'search_path')).toBe('"$user", public');
      }
    } finally {
      c.destroy();
      await endQuietly(other);
    }
  });

  it('a bad value or an unknown setting ends the login with PostgreSQL’s own FATAL', async () => {
    const direct = destinationConn(rig.tenant);
    const cases: Record<string, string>[] = [{ options: '-c statement_timeout=bogus' }, { options: '-c no_such_setting=1' }, { options: '-c statement_timeout' }, { lock_timeout: 'soon' }];
    for (const params of cases) {
      expect(await refusal(rig.conn(), params), JSON.stringify(params)).toEqual(await refusal(direct, params));
    }
  });
});
