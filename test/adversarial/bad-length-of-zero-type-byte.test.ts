// Found by the protocol fuzzer. After login, a message header whose type byte is 0 and whose length
// is impossible (below 4): the error text quoted the type byte as a character, a NUL, and encoding
// the FATAL ErrorResponse threw inside the socket's 'data' handler — one client's five bytes killed
// the process and every tenant on it. The client must get FATAL 08P01 and the pooler go on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { within } from '../helpers/clients.ts';
import { ProtocolClient, errorFields, startPoolerProcess, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  tenant = await createTenant(pg, { id: 'zero-type' });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-zero-type-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenant.config]), log_level: 'warn' }, dir);
});

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it.each([
  ['type 0, length 0', [0, 0, 0, 0, 0]],
  ['type 0, length 3', [0, 0, 0, 0, 3]],
  ['type 0, length 2^31-1', [0, 0x7f, 0xff, 0xff, 0xff]],
])('%s after login: FATAL 08P01 to that client, and the pooler lives on', async (_name, bytes) => {
  const c = await ProtocolClient.connect(poolerConn(pooler, tenant));
  await c.send(Buffer.from(bytes));
  const err = (await within(c.drain(), 20_000, 'the answer to the bad header')).find((m) => m.type === 'E');
  expect(err && errorFields(err.body)).toMatchObject({ S: 'FATAL', C: '08P01' });
  expect(pooler.child.exitCode, pooler.output()).toBeNull();
  const other = await ProtocolClient.connect(poolerConn(pooler, tenant));
  try {
    expect(await other.simple('SELECT 1')).toEqual([['1']]);
  } finally {
    await other.end();
  }
});
