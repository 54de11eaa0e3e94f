// LISTEN/NOTIFY in transaction mode with the Python drivers (pool of one server connection, two
// client connections each): psycopg `conn.notifies()` and a notify handler (delivered after a
// transaction, during the next query), asyncpg `add_listener`/`remove_listener` — also after the
// client has used named prepared statements (psycopg from the 5th execution, asyncpg always).
import { describe, expect, it } from 'vitest';
import { missingPythonModules, runPythonWorkload } from './helpers/python.ts';
import { listenRig } from './helpers/listen-rig.ts';
import { conninfo } from './helpers/clients.ts';

const rig = listenRig('listen-python', ['t']);

interface Result {
  got: [string, string][];
  errors: string[];
}

async function run(driver: 'psycopg' | 'asyncpg', preparedFirst: boolean): Promise<Result> {
  const missing = await missingPythonModules([driver]);
  if (missing !== undefined) throw new Error(missing);
  const r = await runPythonWorkload<Result>('listen_workload.py', rig.pooled(rig.tenants.t!), { driver, prepared_first: preparedFirst, direct: conninfo(rig.direct(rig.tenants.t!), { password: rig.direct(rig.tenants.t!).password }) }, 120_000);
  expect(r.result, r.stderr).toBeDefined();
  return r.result!;
}

describe.each([false, true])('transaction mode, pool size 1, named statements first: %s', (preparedFirst) => {
  it('psycopg: notifies() while idle, a handler after a transaction, UNLISTEN stops them', async () => {
    const r = await run('psycopg', preparedFirst);
    expect(r.errors).toEqual([]);
    expect(r.got).toEqual([
      ['py_chan', 'one'],
      ['py_chan', 'two'],
      ['py_chan', 'three'],
      ['py_sentinel', 'five'],
    ]);
  });

  it('asyncpg: add_listener, remove_listener', async () => {
    const r = await run('asyncpg', preparedFirst);
    expect(r.errors).toEqual([]);
    expect(r.got).toEqual([
      ['apg_chan', 'one'],
      ['apg_chan', 'two'],
    ]);
  });
});
