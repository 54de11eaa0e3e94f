// The local stack's planned switchover end to end (docs/local.md "Planned switchover"): the stack
// as a child process on free ports, two tenants created through the API, clients writing through
// the pooler without pause (local/write-load.ts), then `switchyard clusters switchover local`:
// the CLI prints the timeline and the pause; no client sees an error or loses its connection;
// every acknowledged write is on the new primary; the old primary no longer accepts connections.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../cli/api-client.ts';
import type { SwitchoverTimeline } from '../local/switchover.ts';
import { freePorts, spawnStack, type StackProcess } from '../local/stack-process.ts';
import { WriteLoad, type LoadTarget } from '../local/write-load.ts';
import { run } from '../shared/src/local/postgres-server.ts';
import { sleep, until } from './helpers/clients.ts';

const BIN = join(resolve(import.meta.dirname, '..'), 'bin', 'switchyard.js');

let stateDir: string;
let stack: StackProcess | undefined;
let load: WriteLoad | undefined;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-switchover-'));
  chmodSync(stateDir, 0o755);
  stack = await spawnStack({ via: 'node', stateDir, ports: await freePorts() });
}, 180_000);

afterAll(async () => {
  await load?.stop();
  await stack?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

async function stored(t: LoadTarget, port: number): Promise<Set<string>> {
  // Straight to the server (not the pooler): the tenant's own login on the new primary.
  const c = new pg.Client({ host: '127.0.0.1', port, database: t.database, user: t.user, password: t.password });
  await c.connect();
  try {
    const r = await c.query<{ client: number; seq: number }>('SELECT client, seq FROM demo_writes');
    return new Set(r.rows.map((x) => `${x.client}:${x.seq}`));
  } finally {
    await c.end();
  }
}

describe('local stack: clusters switchover', () => {
  it('switches the cluster over under a write load with no client error and no lost write, and prints the pause', async () => {
    const api = new ApiClient(stack!.info.api, stack!.apiToken);
    const targets: LoadTarget[] = [];
    for (const id of ['sw-shop', 'sw-blog']) {
      const db = id.replace('-', '_');
      const res = await api.request<{ tenant: { client: { database: string; user: string } }; password: string }>('POST', '/tenants', {
        body: { tenantId: id, client: { database: db, user: db }, destination: { clusterId: 'local' }, provision: true, pool: { size: 4 } },
      });
      targets.push({ tenant: id, host: stack!.info.pooler.host, port: stack!.info.pooler.port, database: res.body.tenant.client.database, user: res.body.tenant.client.user, password: res.body.password });
    }
    // The pooler learns of the tenants through a push.
    for (let i = 0; !load; i++) {
      try {
        load = await WriteLoad.start(targets, 3, 5);
      } catch (err) {
        if (i >= 100) throw err;
        await sleep(100);
      }
    }
    await until(() => load!.acks.length >= 200, 30_000, 'steady writes');

    const cli = await run(process.execPath, [BIN, 'clusters', 'switchover', 'local', '--json', '--api', stack!.info.api], { timeoutMs: 120_000, env: { SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_API_TOKEN: '' } });
    expect(cli.code, cli.stderr).toBe(0);
    const t = JSON.parse(cli.stdout) as SwitchoverTimeline;
    expect(t).toMatchObject({ planned: true, openTransactionsCut: 0, epoch: 1 });
    expect(t.pauseMs).toBeGreaterThan(0);
    const after = Date.now();
    await until(() => load!.everyClientWroteOn(t.to.port, after), 30_000, 'every client writing on the new primary');
    await load!.stop();

    const why = `errors: ${JSON.stringify(load!.errors.slice(0, 5))}`;
    expect(load!.errors, why).toEqual([]);
    expect(load!.disconnects).toEqual([]);
    for (const target of targets) {
      const rows = await stored(target, t.to.port);
      const missing = load!.acks.filter((a) => a.tenant === target.tenant && !rows.has(`${a.client}:${a.seq}`));
      expect(missing).toEqual([]);
    }
    const longest = Math.max(...load!.acks.filter((a) => a.at >= Date.parse(t.startedAt)).map((a) => a.at - a.sentAt));
    // Held, not failed: bounded well below the default switchover_timeout (60 s).
    expect(longest).toBeLessThan(60_000);
    console.info(`local planned switchover: pause ${t.pauseMs} ms in the pooler, longest write ${longest} ms, ${load!.acks.length} writes, 0 errors`);

    // The text form, as a person reads it.
    const { switchoverText } = await import('../cli/clusters.ts');
    expect(switchoverText(t)).toMatch(/Pause: new transactions waited at most \d+ ms\./);
  });
});
