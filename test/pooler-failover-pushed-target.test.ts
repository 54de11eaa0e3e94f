// Failover pushed by the control plane (docs/architecture.md, "Reload semantics"): clients write
// through a pooler running with the local source while the primary stops, the standby is
// promoted, and the cluster's new writer is published in the local ConfigChannel and pushed
// (SIGHUP through `<stateDir>/pooler.pid`). The pooler cannot find the new writer on its own here
// (the topology only knows the old primary), so the push is what moves it.
// - Statements sent while there is no writer wait in the pooler; none fails.
// - No client connection is lost: the same connections keep writing on the new primary.
// - Every write acknowledged before, during and after the switch is on the new primary.
// The time from the target change to the first write on the new primary is printed.
import { describe, expect, it } from 'vitest';
import { until } from './helpers/clients.ts';
import { ep, poolerSettings, publishWriter, storedWrites, WriteLoop, useFailoverRig } from './helpers/failover-rig.ts';

const env = useFailoverRig('primary-only');
let loop: WriteLoop | undefined;
env.atEnd(() => loop?.end());

describe('failover with a pushed target change', () => {
  it('keeps every client connected and every acknowledged write, and resumes writes on the new primary', async () => {
    const r = env.rig;
    loop = await WriteLoop.start(poolerSettings(env.pooler, r), 4);
    await until(() => loop!.acked.length >= 40, 30_000, 'writes on the primary');

    // The primary stops between two statements of every writer (see the report for a
    // transaction in flight at that moment).
    await loop.pause();
    await r.primary.stop('fast');
    const stoppedAt = Date.now();
    loop.resume();
    // Writers now wait in the pooler: nothing to connect to.
    await r.standby.promote();
    const changedAt = Date.now();
    const push = await publishWriter(r, ep(r.standby), []);
    expect(push.signalled).toBe(true);

    // Every write acknowledged after the stop was written on the new primary; the pooler cannot
    // find it before the push (the topology knows only the old primary).
    await until(() => [0, 1, 2, 3].every((w) => loop!.acksAfter(stoppedAt).some((a) => a.writer === w)), 30_000, 'every writer writing on the new primary');
    const firstWrite = Math.min(...loop.acksAfter(stoppedAt).map((a) => a.at));
    expect(firstWrite).toBeGreaterThanOrEqual(changedAt);
    const resumedIn = firstWrite - changedAt;
    await until(() => loop!.acksAfter(changedAt).length >= 40, 30_000, 'more writes on the new primary');
    await loop.stop();

    const why = `failed: ${JSON.stringify(loop.failed.slice(0, 5))}\nlost: ${[...loop.lost]}\n${env.pooler.output().slice(-4000)}`;
    expect(loop.failed, why).toEqual([]);
    expect([...loop.lost], why).toEqual([]);
    expect(loop.connectionErrors(), why).toEqual([]);
    // Every acknowledged write is on the new primary, and they were all written there or before.
    const stored = await storedWrites(r.standby, r.destination.database);
    const missing = loop.acked.filter((a) => !stored.has(`${a.writer}:${a.seq}`));
    expect(missing, why).toEqual([]);
    expect(stored.size).toBe(loop.acked.length);
    // The same client connections: each writer's connection served writes on both servers.
    const ports = await r.standby.psql('SELECT DISTINCT port FROM writes ORDER BY port', r.destination.database);
    expect(ports.split('\n').map(Number).sort()).toEqual([r.primary.port, r.standby.port].sort());
    console.info(
      `pushed failover: primary stopped → standby promoted ${changedAt - stoppedAt} ms; target change → first write on the new primary ${resumedIn} ms; ` +
        `${loop.acked.length} writes acknowledged, none failed, no client disconnected`,
    );
  });
});
