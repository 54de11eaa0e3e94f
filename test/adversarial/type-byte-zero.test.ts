// Found by the protocol fuzzer. A message whose type byte is 0: the error texts quoted the type
// byte as a character, a NUL, and encoding the FATAL ErrorResponse then threw inside the socket's
// 'data' handler — one client's few bytes killed the process and every tenant on it. After login
// (a header with an impossible length) and during authentication (where a password message is
// expected, SCRAM or md5), the client must get FATAL 08P01 and the pooler go on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { within } from '../helpers/clients.ts';
import { ProtocolClient, errorFields, message, startPoolerProcess, startupMessage, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let scram: TestTenant;
let md5: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  scram = await createTenant(pg, { id: 'zero-type-scram' });
  md5 = await createTenant(pg, { id: 'zero-type-md5', clientAuth: 'md5' });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-zero-type-'));
  pooler = await startPoolerProcess({ ...poolerConfig([scram.config, md5.config]), log_level: 'warn' }, dir);
});

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function expectFatal08P01AndPoolerServing(c: ProtocolClient): Promise<void> {
  const err = (await within(c.drain(), 20_000, 'the answer to the bad message')).find((m) => m.type === 'E');
  expect(err && errorFields(err.body)).toMatchObject({ S: 'FATAL', C: '08P01' });
  expect(pooler.child.exitCode, pooler.output()).toBeNull();
  const other = await ProtocolClient.connect(poolerConn(pooler, scram));
  try {
    expect(await other.simple('SELECT 1')).toEqual([['1']]);
  } finally {
    await other.end();
  }
}

it.each([
  ['type 0, length 0', [0, 0, 0, 0, 0]],
  ['type 0, length 3', [0, 0, 0, 0, 3]],
  ['type 0, length 2^31-1', [0, 0x7f, 0xff, 0xff, 0xff]],
])('%s after login: FATAL 08P01 to that client, and the pooler lives on', async (_name, bytes) => {
  const c = await ProtocolClient.connect(poolerConn(pooler, scram));
  await c.send(Buffer.from(bytes));
  await expectFatal08P01AndPoolerServing(c);
});

it.each(['scram', 'md5'] as const)('a type-0 message instead of the password message (%s): FATAL 08P01, and the pooler lives on', async (kind) => {
  const t = kind === 'scram' ? scram : md5;
  const c = await ProtocolClient.open(pooler.host, pooler.port);
  await c.send(startupMessage({ user: t.clientUser, database: t.clientDatabase }));
  // AuthenticationSASL (10) or AuthenticationMD5Password (5) comes first.
  const auth = await within(c.untilType('R'), 20_000, 'the authentication request');
  expect(auth.at(-1)!.body.readInt32BE(0)).toBe(kind === 'scram' ? 10 : 5);
  await c.send(message('\0', Buffer.from('x\0')));
  await expectFatal08P01AndPoolerServing(c);
});
