// A target that is a standby is never used (ARCHITECTURE.md, "Reload semantics": the pooler notices
// a demoted writer on its own). The published targets name the standby as the writer — a stale or
// wrong publish — while the primary is the real writer. The pooler's new server connections report
// that they are in recovery, so they are closed unused, the pooler asks the local topology, and the
// client's writes land on the primary; nothing reaches the standby.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg, endQuietly, within, type PgClient } from './helpers/clients.ts';
import { ep, poolerSettings, publishWriter, startPoolerProcess, startRig, stopRig, storedWrites, type PoolerProcess, type Rig } from './helpers/failover-rig.ts';

let rig: Rig | undefined;
let pooler: PoolerProcess | undefined;
let client: PgClient | undefined;

beforeAll(async () => {
  rig = await startRig({ members: 'both' });
  // Published before the pooler starts: its very first target is the standby.
  await publishWriter(rig, ep(rig.standby), [ep(rig.primary)]);
  pooler = await startPoolerProcess(rig.stateDir);
}, 120_000);

afterAll(async () => {
  await endQuietly(client);
  await pooler?.stop();
  await stopRig(rig);
});

describe('writer check on new server connections', () => {
  it('does not use a standby: the client logs in and writes on the primary', async () => {
    const r = rig!;
    client = await within(connectPg(poolerSettings(pooler!, r)), 30_000, 'login through the pooler');
    await within(client.query('INSERT INTO writes (writer, seq) VALUES (1, 1)'), 30_000, 'a write');
    const port = await client.query<{ port: number; in_recovery: boolean }>('SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery');
    expect(port.rows[0]).toEqual({ port: r.primary.port, in_recovery: false });
    const log = pooler!.output();
    expect(log).toMatch(/server is not the writer/);
    expect(log).toMatch(/routing to the observed writer/);
    // The pooler never wrote through the standby (it would have failed with 25006 anyway) and
    // the write is on the primary.
    expect(log).not.toMatch(/25006/);
    expect([...(await storedWrites(r.primary, r.destination.database))]).toEqual(['1:1']);
  });
});
