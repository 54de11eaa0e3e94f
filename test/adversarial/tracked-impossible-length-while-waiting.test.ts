// Found by the protocol fuzzer. A client in tracked mode (it has named prepared statements) whose
// stream holds a message header with an impossible length (above limits.max_message_size) while it
// waits for a server connection: that header is framed only once a server arrives (another
// client's release) or the wait ends (checkout_timeout). The framer's ProtocolError was thrown
// there, outside any handler — through the releasing client's server 'data' event, or the pool's
// maintenance timer — and killed the process, every tenant with it. The offender must get FATAL
// 08P01 and the pooler must go on serving the others.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { within } from '../helpers/clients.ts';
import { ProtocolClient, endAll, errorFields, parse, startPoolerProcess, sync, type PoolerProcess } from '../helpers/raw-protocol.ts';
import { createTenant, poolerConfig, poolerConn, type TestTenant } from '../helpers/tenants.ts';

const HANG_MS = 20_000;
/** 'Q' with a length of 2^31-1: more than any max_message_size allows. */
const IMPOSSIBLE_HEADER = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]);

let pg: PostgresServer;
let pooler: PoolerProcess;
let dir: string;
let tenant: TestTenant;

beforeAll(async () => {
  pg = await startPostgres();
  // One server connection: the tracked client must wait while the holder has it.
  tenant = await createTenant(pg, { id: 'tracked-wait', pool: { mode: 'transaction', size: 1, checkout_timeout: 2 } });
  dir = mkdtempSync(join(tmpdir(), 'switchyard-tracked-wait-'));
  pooler = await startPoolerProcess({ ...poolerConfig([tenant.config]), log_level: 'warn' }, dir);
});

afterAll(async () => {
  await pooler?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A client in tracked mode, idle (no server connection held). */
async function trackedClient(): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(poolerConn(pooler, tenant));
  expect((await c.request(parse('named_1', 'SELECT 1'), sync())).map((m) => m.type)).toEqual(['1', 'Z']);
  return c;
}

async function expectAliveAndServing(): Promise<void> {
  expect(pooler.child.exitCode, pooler.output()).toBeNull();
  const c = await ProtocolClient.connect(poolerConn(pooler, tenant));
  try {
    expect(await c.simple('SELECT 41 + 1')).toEqual([['42']]);
  } finally {
    await c.end();
  }
}

describe('a tracked client with an impossible length queued while it waits for a server connection', () => {
  it('gets FATAL 08P01 when a server connection is handed to it, and the pooler lives on', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const offender = await trackedClient();
      clients.push(offender);
      const holder = await ProtocolClient.connect(poolerConn(pooler, tenant));
      clients.push(holder);
      await holder.simple('BEGIN');
      await offender.send(IMPOSSIBLE_HEADER);
      // The release hands the only server connection to the waiting offender.
      await holder.simple('COMMIT');
      const err = (await within(offender.drain(), HANG_MS, 'the offender’s answer')).find((m) => m.type === 'E');
      expect(err && errorFields(err.body)).toMatchObject({ S: 'FATAL', C: '08P01' });
      expect(await holder.simple('SELECT 1')).toEqual([['1']]);
      await expectAliveAndServing();
    } finally {
      await endAll(clients);
    }
  });

  it('gets FATAL 08P01 when its wait times out, and the pooler lives on', async () => {
    const clients: ProtocolClient[] = [];
    try {
      const offender = await trackedClient();
      clients.push(offender);
      const holder = await ProtocolClient.connect(poolerConn(pooler, tenant));
      clients.push(holder);
      await holder.simple('BEGIN');
      await offender.send(IMPOSSIBLE_HEADER);
      // checkout_timeout (2 s) passes while the holder keeps the server connection.
      const err = (await within(offender.drain(), HANG_MS, 'the offender’s answer')).find((m) => m.type === 'E');
      expect(err && errorFields(err.body)).toMatchObject({ S: 'FATAL', C: '08P01' });
      await holder.simple('COMMIT');
      await expectAliveAndServing();
    } finally {
      await endAll(clients);
    }
  });
});
