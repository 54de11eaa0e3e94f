// Keeps the issue-15 native pass-through from rotting: builds forward.c with the machine's cc and
// forwards real queries through each engine (and the JS pass-through) to a real PostgreSQL,
// including answers and queries larger than the addon's 16 KiB buffer (partial writes, parked
// bytes) and the close of both sides when the client leaves. No compiler or headers: the native
// cases are skipped with the reason in their name and a warning on stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../shared/src/local/postgres-server.ts';
import { buildForwarder, loadForwarder } from './build.ts';

const built = buildForwarder();
const uv = built.ok && loadForwarder(built.path).stats().uv;
if (!built.ok) process.stderr.write(`\n*** native pass-through tests SKIPPED: ${built.reason} ***\n\n`);
else if (!uv) process.stderr.write('\n*** native-uv pass-through test SKIPPED: built without uv.h ***\n\n');

let db: PostgresServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await startPostgres({ superuserPassword: 'forward-test' });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await db?.stop();
});

async function startPassthrough(engine: string): Promise<number> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'passthrough.ts'), '--engine', engine, '--target-host', db.host, '--target-port', String(db.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => ['exited'])])) as string[];
  const m = /^listening (\d+)$/.exec(line ?? '');
  if (!m) throw new Error(`pass-through ${engine} did not start: ${line}`);
  return Number(m[1]);
}

async function backendsOf(app: string): Promise<number> {
  return Number(await db.psql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${app}'`));
}

async function forwardsQueries(engine: string): Promise<void> {
  const port = await startPassthrough(engine);
  const app = `forward-${engine}`;
  const client = new pg.Client({ host: '127.0.0.1', port, user: db.superuser, password: db.superuserPassword, database: 'postgres', application_name: app, query_timeout: 30_000 });
  await client.connect();
  try {
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    // 200 KB answer: many reads of the 16 KiB buffer, parked bytes when the client is slower.
    const big = await client.query("SELECT repeat('x', 200000) AS s");
    expect(big.rows[0].s).toHaveLength(200000);
    // 100 KB query text toward the server, extended protocol.
    const echo = await client.query('SELECT length($1::text) AS n', ['y'.repeat(100000)]);
    expect(echo.rows).toEqual([{ n: 100000 }]);
    for (let i = 0; i < 20; i++) expect((await client.query('SELECT $1::int AS i', [i])).rows).toEqual([{ i }]);
    // A client that stops reading: 30 MB of answer fill every buffer on the way until the backend
    // blocks in its write (wait_event ClientWrite), so the pass-through must park bytes and stop
    // reading the server; when the client reads again every byte must arrive, in order.
    const stream = (client as unknown as { connection: { stream: { pause(): void; resume(): void } } }).connection.stream;
    stream.pause();
    const flood = client.query('SELECT i, repeat(chr(65 + i % 26), 1000) AS s FROM generate_series(1, 30000) i');
    const deadline = Date.now() + 20_000;
    while (Number(await db.psql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${app}' AND wait_event = 'ClientWrite'`)) === 0) {
      if (Date.now() > deadline) throw new Error('the server never blocked writing to a paused client');
      await new Promise((r) => setTimeout(r, 100));
    }
    stream.resume();
    const rows = (await flood).rows as { i: number; s: string }[];
    expect(rows).toHaveLength(30000);
    for (const r of rows) if (r.s !== String.fromCharCode(65 + (r.i % 26)).repeat(1000)) throw new Error(`row ${r.i} corrupted`);
  } finally {
    await client.end();
  }
  // The client's Terminate and close reach the server: its backend goes away.
  const deadline = Date.now() + 15_000;
  while ((await backendsOf(app)) > 0) {
    if (Date.now() > deadline) throw new Error(`the ${engine} pass-through left the server connection open after the client left`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('pass-through engines of the issue-15 experiment', () => {
  it('js forwards queries and closes both sides', async () => {
    await forwardsQueries('js');
  });
  it.skipIf(!built.ok)(`native-thread forwards queries and closes both sides${built.ok ? '' : ` (SKIPPED: ${built.reason})`}`, async () => {
    await forwardsQueries('native-thread');
  });
  it.skipIf(!uv)(`native-uv forwards queries and closes both sides${uv ? '' : ' (SKIPPED: no uv.h or no compiler)'}`, async () => {
    await forwardsQueries('native-uv');
  });
});
