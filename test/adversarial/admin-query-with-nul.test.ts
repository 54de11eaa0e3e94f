// Found by the protocol fuzzer. An admin console Query whose text holds a NUL before its end
// ("SHOW\0POOLS"): the unknown-command error quoted the text, the NUL made encoding the
// ErrorResponse throw inside a promise handler, and the unhandled rejection killed the pooler.
// PostgreSQL answers such a Query with ERROR 08P01 "invalid message format" (pq_getmsgend after
// pq_getmsgstring) and the session goes on; the console must do the same.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { adminConn, createAdminLogin, type AdminLogin } from '../helpers/admin.ts';
import { ProtocolClient, message, startPoolerProcess, summarizeAll, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, superuserConn } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let admin: AdminLogin;

beforeAll(async () => {
  pg = await startPostgres();
  const tenant = await createTenant(pg, { id: 'admin-nul' });
  admin = await createAdminLogin(pg);
  dir = mkdtempSync(join(tmpdir(), 'switchyard-admin-nul-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenant.config], { admin: { users: [admin.config] } }), log_level: 'warn' }, dir);
});

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A Query message whose text has a NUL inside, then its own terminator. */
const QUERY_WITH_NUL = message('Q', Buffer.from('SHOW\0POOLS\0', 'latin1'));

it('a Query with a NUL inside its text gets ERROR 08P01 as from PostgreSQL, and the console goes on', async () => {
  const direct = await ProtocolClient.connect(superuserConn(pg));
  const expected = summarizeAll(await direct.request(QUERY_WITH_NUL));
  await direct.end();
  expect(expected).toEqual(['E:ERROR:08P01:invalid message format', 'Z:I']);

  const c = await ProtocolClient.connect(adminConn(pooler, admin));
  try {
    expect(summarizeAll(await c.request(QUERY_WITH_NUL))).toEqual(expected);
    const after = summarizeAll(await c.request(message('Q', Buffer.from('SHOW VERSION\0'))));
    expect(after.at(-1)).toBe('Z:I');
    expect(after.filter((s) => s.startsWith('E:'))).toEqual([]);
  } finally {
    await c.end();
  }
  expect(pooler.child.exitCode, pooler.output()).toBeNull();
});
