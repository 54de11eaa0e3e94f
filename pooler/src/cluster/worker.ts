// One worker process of `switchyard pooler --workers N` (docs/workers.md): today's pooler with its
// own config source controller, bound to the machine's client port with SO_REUSEPORT, answering
// the supervisor over IPC (console commands run here, reloads, metrics scrapes, relayed cancels, stop).
// Nothing of this touches the proxy's hot path: clients are served exactly as by one process.
//
// Signals: SIGTERM drains this worker and exits (the supervisor starts a fresh one in its slot: a
// graceful recycle). SIGHUP and SIGINT are the supervisor's to act on (a terminal's Ctrl-C reaches
// the whole process group): a worker ignores them. If the supervisor dies, the IPC channel closes
// and the worker drains and exits rather than live on unsupervised.
import { errorData, type WorkerAnswer } from '../admin/fan-out.ts';
import { runLocalAdminCommand } from '../admin/dispatch.ts';
import { reloadReply } from '../admin/reload.ts';
import type { AdminReply } from '../admin/result.ts';
import { defaultPoolerId, SourceController } from '../config/sources/controller.ts';
import type { ConfigSource, SourceLoad } from '../config/sources/types.ts';
import type { Logger } from '../log.ts';
import { Pooler } from '../pooler.ts';
import { isToWorker, type FromWorker, type ToWorker } from './messages.ts';
import { WorkerAdminGroup, WorkerChannel } from './worker-admin.ts';
import type { WorkerPlan } from './worker-plan.ts';
import type { PeerLookup } from './peer-directory.ts';

export interface WorkerContext {
  readonly plan: WorkerPlan;
  readonly log: Logger;
  /** The machine's source, wrapped (worker-source.ts). */
  readonly source: ConfigSource;
  /** Its first load, already this worker's configuration. */
  readonly initial: SourceLoad;
  readonly baseDir: string;
  readonly instanceId: string | undefined;
  /** `cluster.node_id: auto`: the other machines' peer ports, from the store (peer-directory.ts). */
  readonly peers?: PeerLookup;
}

/** One message to the supervisor; false when the channel is gone. */
export function send(m: FromWorker): boolean {
  if (process.send === undefined || !process.connected) return false;
  try {
    process.send(m);
    return true;
  } catch {
    return false;
  }
}

/** Runs the worker until it has drained; resolves with the exit code. */
export async function runWorker(ctx: WorkerContext): Promise<number> {
  const { plan, log } = ctx;
  const pooler = new Pooler(ctx.initial.config, { logger: log, baseDir: ctx.baseDir, ...(ctx.peers ? { peers: ctx.peers } : {}) });
  // The machine's PAUSE state, before the first client can start a transaction.
  for (const command of plan.replay) {
    await runLocalAdminCommand(pooler.admin, command).catch((err: unknown) => log.warn({ command, err: (err as Error).message }, 'replayed admin command failed'));
  }
  try {
    await pooler.listenShared();
    // No metrics block in a worker's configuration: this starts the SHOW STATS averages only.
    await pooler.startMetrics();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'worker could not start');
    await pooler.close(0);
    await ctx.source.close().catch(() => undefined);
    return 1;
  }
  // The supervisor gathers from this registry; creating it also records the checkout-wait histogram.
  if (plan.metrics) pooler.metricsRegistry();
  send({ t: 'listening', port: pooler.port });

  const poolerId = `${(process.env.SWITCHYARD_POOLER_ID ?? defaultPoolerId(pooler.port)).slice(0, 120)}-w${plan.slot}`;
  const controller = new SourceController(pooler, ctx.source, ctx.initial, {
    log,
    poolerId,
    ...(ctx.instanceId !== undefined ? { instanceId: ctx.instanceId } : {}),
  });
  controller.start();
  const channel = new WorkerChannel(send);
  pooler.admin.adminGroup = new WorkerAdminGroup(pooler.admin, channel, plan);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ why }, 'worker draining');
      send({ t: 'draining' });
      Promise.all([controller.stop(), pooler.close()]).then(
        () => finish(0),
        (err: unknown) => {
          log.error({ err }, 'worker shutdown failed');
          finish(1);
        },
      );
    };
    const finish = (code: number): void => {
      process.removeListener('message', onMessage);
      channel.closed();
      if (process.connected) process.disconnect();
      resolve(code);
    };
    /** A console reply (or its error) as it crosses to the supervisor. */
    const answerOf = (reply: Promise<AdminReply | null>): Promise<WorkerAnswer> =>
      reply.then(
        (r): WorkerAnswer => ({ worker: plan.slot, ok: true, reply: r }),
        (err: unknown): WorkerAnswer => ({ worker: plan.slot, ok: false, error: errorData(err) }),
      );
    const onMessage = (m: unknown): void => {
      if (!isToWorker(m)) return;
      handle(m);
    };
    const handle = (m: ToWorker): void => {
      switch (m.t) {
        case 'run':
          void answerOf(runLocalAdminCommand(pooler.admin, m.command).then((out) => out.reply)).then((a) => send({ t: 'ran', id: m.id, answer: a }));
          return;
        case 'reload':
          // The one reload entry point (SIGHUP's and RELOAD's on a single process too).
          void answerOf(reloadReply(() => controller.reload(m.reason))).then((a) => send({ t: 'reloaded', id: m.id, answer: a }));
          return;
        case 'metrics':
          pooler
            .metricsRegistry()
            .getMetricsAsJSON()
            .then(
              (metrics) => send({ t: 'metrics', id: m.id, metrics }),
              (err: unknown) => {
                log.error({ err: (err as Error).message }, 'metrics for the supervisor failed');
                send({ t: 'metrics', id: m.id, metrics: [] });
              },
            );
          return;
        case 'cancel':
          // Answered once the CancelRequest reached the server, so the relay (and the sender before
          // it) keeps its connection open until then, as PostgreSQL does.
          // Only keys of this worker's node: a relayed cancel is never forwarded again (no loops).
          void pooler.cancelOwn(m.processId, m.secretKey).finally(() => send({ t: 'cancelled', id: m.id }));
          return;
        case 'fanned':
          channel.answered(m.id, m.answers);
          return;
        case 'stop':
          stop('supervisor');
          return;
        case 'decrypted':
          return; // the RelayedSecretBox waiting for it listens itself (secret-relay.ts)
      }
    };
    process.on('message', onMessage);
    process.once('disconnect', () => {
      channel.closed();
      if (!stopping) log.error('the supervisor is gone; draining');
      stop('supervisor gone');
    });
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => log.debug('SIGINT ignored: the supervisor stops the workers'));
    process.on('SIGHUP', () => log.debug('SIGHUP ignored: the supervisor relays reloads'));
    // Closed another way (it should not be, SHUTDOWN goes to the supervisor): leave the group too.
    void pooler.whenClosed().then(() => stop('pooler closed'));
    send({ t: 'ready' });
  });
}
