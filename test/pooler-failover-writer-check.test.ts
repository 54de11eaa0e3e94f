// A target that is a standby is never used (docs/architecture.md, "Reload semantics": the pooler notices
// a demoted writer on its own). The published targets name the standby as the writer — a stale or
// wrong publish — while the primary is the real writer. The pooler's new server connections report
// that they are in recovery, so they are closed unused, the pooler asks the local topology, and the
// client's writes land on the primary; nothing reaches the standby.
import { describe, expect, it } from 'vitest';
import { connectPg, endQuietly, within, type PgClient } from './helpers/clients.ts';
import { ep, poolerSettings, publishWriter, storedWrites, useFailoverRig } from './helpers/failover-rig.ts';

// Published before the pooler starts: its very first target is the standby.
const env = useFailoverRig('both', (rig) => publishWriter(rig, ep(rig.standby), [ep(rig.primary)]));
let client: PgClient | undefined;
env.atEnd(() => endQuietly(client));

describe('writer check on new server connections', () => {
  it('does not use a standby: the client logs in and writes on the primary', async () => {
    const r = env.rig;
    client = await within(connectPg(poolerSettings(env.pooler, r)), 30_000, 'login through the pooler');
    await within(client.query('INSERT INTO writes (writer, seq) VALUES (1, 1)'), 30_000, 'a write');
    const port = await client.query<{ port: number; in_recovery: boolean }>('SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery');
    expect(port.rows[0]).toEqual({ port: r.primary.port, in_recovery: false });
    const log = env.pooler.output();
    expect(log).toMatch(/server is not the writer/);
    expect(log).toMatch(/routing to the observed writer/);
    // The pooler never wrote through the standby (it would have failed with 25006 anyway) and
    // the write is on the primary.
    expect(log).not.toMatch(/25006/);
    expect([...(await storedWrites(r.primary, r.destination.database))]).toEqual(['1:1']);
  });
});
