// Brings the two nodes up in a consistent shape — one primary, one streaming standby — whatever
// state the previous run left them in:
//   nothing on disk              → initdb node a (primary), pg_basebackup node b (standby)
//   a primary and a standby      → start both (the primary first)
//   a primary, the other missing → rebuild the other as a standby (an interrupted rebuild)
//   two primaries                → the run stopped between a promote and the rebuild of the old
//                                  primary: the node on the newer timeline (the promoted one)
//                                  stays primary and the other is rebuilt as its standby
// A standby that does not stream within STREAM_TIMEOUT_MS after its start (its timeline forked
// from the primary's) is rebuilt as well.
import type { Endpoint } from '../shared/src/domain/common.ts';
import { NODE_NAMES, type StateLayout } from './layout.ts';
import { NodeError, PgNode, type NodeInfo } from './nodes.ts';

export const STREAM_TIMEOUT_MS = 15_000;

export type Progress = (message: string) => void;

export class ClusterNodes {
  readonly nodes: readonly [PgNode, PgNode];

  constructor(layout: StateLayout, ports: { a: number; b: number }, superuserPassword: string) {
    const [a, b] = NODE_NAMES;
    this.nodes = [new PgNode(layout, a, ports.a, superuserPassword), new PgNode(layout, b, ports.b, superuserPassword)];
  }

  other(n: PgNode): PgNode {
    return n === this.nodes[0] ? this.nodes[1] : this.nodes[0];
  }

  byEndpoint(e: Endpoint): PgNode | undefined {
    return this.nodes.find((n) => n.endpoint.host === e.host && n.endpoint.port === e.port);
  }

  /** Servers a previous run left running are stopped first (their ports and data dirs are ours). */
  async stopLeftovers(progress: Progress): Promise<void> {
    for (const n of this.nodes) {
      if (await n.stopLeftover()) progress(`stopped PostgreSQL node ${n.name} left running by a previous run`);
    }
  }

  async #choosePrimary(candidates: PgNode[], writerHint: Endpoint | undefined): Promise<PgNode> {
    if (candidates.length === 1) return candidates[0]!;
    const timelines = await Promise.all(candidates.map((n) => n.timeline()));
    const best = Math.max(...timelines);
    const newest = candidates.filter((_, i) => timelines[i] === best);
    if (newest.length === 1) return newest[0]!;
    const hinted = writerHint ? newest.find((n) => n.endpoint.port === writerHint.port) : undefined;
    return hinted ?? newest[0]!;
  }

  /** Starts both nodes; returns the primary. */
  async start(progress: Progress, writerHint?: Endpoint): Promise<PgNode> {
    await this.stopLeftovers(progress);
    const [a] = this.nodes;
    if (!this.nodes.some((n) => n.hasData())) {
      progress(`initialising PostgreSQL node a (primary) on 127.0.0.1:${a.port}`);
      await a.start();
      const b = this.other(a);
      progress(`cloning node b (standby) from node a on 127.0.0.1:${b.port}`);
      await b.rebuildAsStandbyOf(a);
      return a;
    }
    const primaries = this.nodes.filter((n) => n.hasData() && !n.isStandbyOnDisk());
    if (primaries.length === 0) {
      throw new NodeError(
        'NO_PRIMARY',
        `neither PostgreSQL node in ${this.nodes[0].root}/.. is a primary (both are standbys); promote one with pg_ctl, or remove the state directory to start afresh`,
      );
    }
    const primary = await this.#choosePrimary(primaries, writerHint);
    const standby = this.other(primary);
    progress(`starting PostgreSQL node ${primary.name} (primary) on 127.0.0.1:${primary.port}`);
    await primary.start();
    if (standby.hasData() && standby.isStandbyOnDisk()) {
      progress(`starting PostgreSQL node ${standby.name} (standby) on 127.0.0.1:${standby.port}`);
      await standby.start();
      if (await standby.waitStreaming(STREAM_TIMEOUT_MS)) return primary;
      progress(`node ${standby.name} does not stream from node ${primary.name}; rebuilding it`);
    } else if (standby.hasData()) {
      progress(`node ${standby.name} is an old primary (a failover was not finished); rebuilding it as the standby of node ${primary.name}`);
    } else {
      progress(`rebuilding node ${standby.name} as the standby of node ${primary.name}`);
    }
    await standby.rebuildAsStandbyOf(primary);
    return primary;
  }

  async info(): Promise<NodeInfo[]> {
    return Promise.all(this.nodes.map((n) => n.info()));
  }

  /** Stops both nodes, the primary first (so the standby receives its shutdown checkpoint). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const infos = await this.info();
    const order = [...this.nodes].sort((x, y) => Number(infos[this.nodes.indexOf(x)]?.role !== 'primary') - Number(infos[this.nodes.indexOf(y)]?.role !== 'primary'));
    for (const n of order) {
      await n.stop(mode).catch(async () => n.stop('immediate'));
    }
  }
}
