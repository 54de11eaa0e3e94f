// A start-up setting whose validity depends on the database — a role to take (`-c role=...`), a
// text search configuration, a tablespace — is judged by a server of the pool at login
// (startup-check.ts), and verdicts are remembered per set of values. A refusal must not outlive
// the reason for it: once the role exists and is granted, PostgreSQL takes the same login, and so
// must the pooler (it refused it for the pool's life).
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, pgErrorInfo } from '../helpers/clients.ts';
import { sessionRig } from '../helpers/session-rig.ts';
import { destinationConn } from '../helpers/tenants.ts';

const rig = sessionRig('startup-refusal', { pool: { size: 1 } });

async function login(conn: ReturnType<typeof rig.conn>): Promise<string> {
  return connectPg(conn, { options: '-c role=later_role' }).then(
    async (c) => {
      const who = (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
      await endQuietly(c);
      return who;
    },
    (e: unknown) => `${pgErrorInfo(e).code} ${pgErrorInfo(e).message}`,
  );
}

describe('a start-up setting refused once is judged again', () => {
  it('-c role=... is taken once the role exists', async () => {
    const direct = destinationConn(rig.tenant);
    expect(await login(direct)).toMatch(/^22023 /);
    expect(await login(rig.conn())).toMatch(/^22023 /);
    await rig.pg.psql(`CREATE ROLE later_role; GRANT later_role TO ${rig.tenant.destination.user};`, rig.tenant.destination.database);
    expect(await login(direct)).toBe('later_role');
    expect(await login(rig.conn())).toBe('later_role');
  });
});
