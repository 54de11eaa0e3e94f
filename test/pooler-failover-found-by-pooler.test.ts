// Failover found by the pooler itself, with no push at all: the primary stops and the standby is
// promoted, but nothing is published. The pooler's connects to the old primary are refused, so it
// asks the local topology (pg_is_in_recovery() on each cluster member), finds the promoted
// standby and routes there in memory (the stores stay as they were: updating them is the control
// plane's failover handler's job). When the control plane later publishes the same writer, the
// pooler takes it over without a hitch.
// - Statements sent while there is no writer wait in the pooler; none fails; no client is lost.
// - Every acknowledged write is on the new primary.
// The time from the promotion to the first write on the new primary is printed.
import { describe, expect, it } from 'vitest';
import { until } from './helpers/clients.ts';
import { CLUSTER_ID, ep, poolerSettings, publishWriter, storedWrites, WriteLoop, useFailoverRig } from './helpers/failover-rig.ts';

const env = useFailoverRig('both');
let loop: WriteLoop | undefined;
env.atEnd(() => loop?.end());

describe('failover without a push', () => {
  it('finds the promoted standby, keeps every client and every acknowledged write', async () => {
    const r = env.rig;
    const writers = [0, 1, 2, 3];
    loop = await WriteLoop.start(poolerSettings(env.pooler, r), writers.length);
    await until(() => loop!.acked.length >= 40, 30_000, 'writes on the primary');

    await loop.pause();
    await r.primary.stop('fast');
    const stoppedAt = Date.now();
    loop.resume();
    // Every write acknowledged from now on was written on the new primary.
    const promoteStartedAt = Date.now();
    await r.standby.promote();
    const promotedAt = Date.now();

    await until(() => writers.every((w) => loop!.acksAfter(stoppedAt).some((a) => a.writer === w)), 30_000, 'every writer writing on the new primary');
    const firstWrite = Math.min(...loop.acksAfter(stoppedAt).map((a) => a.at));
    const why = (): string => `failed: ${JSON.stringify(loop!.failed.slice(0, 5))}\nlost: ${[...loop!.lost]}\n${env.pooler.output().slice(-4000)}`;
    expect(loop.failed, why()).toEqual([]);
    expect([...loop.lost], why()).toEqual([]);
    // Nothing was published: the pooler found the writer on its own and left the stores alone.
    expect((await r.adapters.config.getClusterTargets(CLUSTER_ID))?.writer).toEqual(ep(r.primary));
    expect(env.pooler.output()).toMatch(/routing to the observed writer/);

    // The control plane catches up later: the same writer, published and pushed. Nothing moves.
    const countBefore = loop.acked.length;
    expect((await publishWriter(r, ep(r.standby), [])).signalled).toBe(true);
    await until(() => loop!.acked.length >= countBefore + 40, 30_000, 'writes after the control plane caught up');
    await loop.stop();

    expect(loop.failed, why()).toEqual([]);
    expect([...loop.lost], why()).toEqual([]);
    expect(loop.connectionErrors(), why()).toEqual([]);
    const stored = await storedWrites(r.standby, r.destination.database);
    expect(loop.acked.filter((a) => !stored.has(`${a.writer}:${a.seq}`)), why()).toEqual([]);
    expect(stored.size).toBe(loop.acked.length);
    console.info(
      `failover found by the pooler: pg_ctl promote took ${promotedAt - promoteStartedAt} ms; from the promote command to the first write on the new primary ` +
        `${firstWrite - promoteStartedAt} ms; ${loop.acked.length} writes, none failed, no client disconnected`,
    );
  });
});
