// A worker's side of the machine-wide admin console: the console session lives on whichever worker
// the kernel gave its connection to; commands about the machine go to the supervisor, which runs
// them on every worker (`run`) and hands back each worker's answer (`fanned`); the answers are
// merged here (admin/fan-out.ts). RELOAD goes to the supervisor's reload (`reloadAll`), which
// asks every worker's source controller with a typed `reload` message.
import { fanOutOf, mergeAction, mergeShow, type WorkerAnswer } from '../admin/fan-out.ts';
import { runLocalAdminCommand } from '../admin/dispatch.ts';
import type { AdminGroup, AdminHost } from '../admin/host.ts';
import { tag, type AdminReply, type Cell, type Outcome } from '../admin/result.ts';
import type { FanOutScope, FromWorker } from './messages.ts';
import { PendingRequests, RequestFailed } from './pending-requests.ts';
import type { WorkerPlan } from './worker-plan.ts';

/**
 * Console requests a worker has outstanding with the supervisor at once. Each waits for a console
 * session's command (a session runs one at a time); a worker has at most limits.max_client_conn
 * sessions, so this bound is only reached by a supervisor that stopped answering.
 */
const MAX_OUTSTANDING = 4096;

/** The worker's end of the IPC channel: sends, and matches `fanned` answers to requests. */
export class WorkerChannel {
  readonly #send: (m: FromWorker) => boolean;
  readonly #pending = new PendingRequests<readonly WorkerAnswer[]>(MAX_OUTSTANDING);

  constructor(send: (m: FromWorker) => boolean) {
    this.#send = send;
  }

  send(m: FromWorker): boolean {
    return this.#send(m);
  }

  /**
   * Runs `command` on every worker in `scope`. No timeout, as on one process: a PAUSE waits for
   * transactions to end; the supervisor answers once every worker answered or exited (supervisor.ts).
   */
  fanOut(command: string, scope: FanOutScope): Promise<readonly WorkerAnswer[]> {
    return this.#ask((id) => this.#send({ t: 'fanout', id, command, scope }));
  }

  /** Every worker reloads (the supervisor's reload, as on SIGHUP); their answers. */
  reloadAll(reason: string): Promise<readonly WorkerAnswer[]> {
    return this.#ask((id) => this.#send({ t: 'reloadAll', id, reason }));
  }

  #ask(send: (id: number) => boolean): Promise<readonly WorkerAnswer[]> {
    return this.#pending.ask(send, undefined).catch((err: unknown) => {
      throw new Error(err instanceof RequestFailed && err.reason === 'busy' ? `too many console commands in flight: ${err.message}` : 'the supervisor is gone');
    });
  }

  answered(id: number, answers: readonly WorkerAnswer[]): void {
    this.#pending.answer(id, answers);
  }

  /** The supervisor went away: nothing pending will be answered. */
  closed(): void {
    this.#pending.failAll();
  }
}

const SHOW_CONFIG = /^\s*show\s+config[\s;]*$/i;

export class WorkerAdminGroup implements AdminGroup {
  readonly #host: AdminHost;
  readonly #channel: WorkerChannel;
  readonly #plan: WorkerPlan;

  constructor(host: AdminHost, channel: WorkerChannel, plan: WorkerPlan) {
    this.#host = host;
    this.#channel = channel;
    this.#plan = plan;
  }

  async run(query: string): Promise<Outcome> {
    const f = fanOutOf(query);
    switch (f.kind) {
      case 'local': {
        const out = await runLocalAdminCommand(this.#host, query);
        return SHOW_CONFIG.test(query) && out.reply !== null ? { reply: this.#machineConfig(out.reply) } : out;
      }
      case 'show':
        return { reply: mergeShow(f.what, await this.#channel.fanOut(query, 'all')) };
      case 'action':
        // RELOAD is no text command for the workers: the supervisor's reload runs on every one.
        if (f.verb === 'RELOAD') return { reply: mergeAction('RELOAD', await this.#channel.reloadAll('admin')) };
        return { reply: mergeAction(f.verb, await this.#channel.fanOut(query, 'serving')) };
      case 'shutdown':
        // As on one process: answer first, then drain — here the whole machine (the supervisor
        // stops every worker, this session's included).
        return { reply: tag('SHUTDOWN'), after: () => void this.#channel.send({ t: 'shutdown' }) };
    }
  }

  /** SHOW CONFIG of this worker, with what the machine has that a worker does not: the metrics endpoint and the worker count. */
  #machineConfig(reply: AdminReply): AdminReply {
    if (reply.kind !== 'rows') return reply;
    const extra = new Map<string, Cell[]>([['workers', ['workers', String(this.#plan.count), '1', 'no']]]);
    if (this.#plan.metricsHost !== undefined) extra.set('metrics.host', ['metrics.host', this.#plan.metricsHost, '127.0.0.1', 'no']);
    if (this.#plan.metricsPort !== undefined) extra.set('metrics.port', ['metrics.port', String(this.#plan.metricsPort), '9127', 'no']);
    const rows = [...reply.result.rows.filter((r) => !extra.has(String(r[0]))), ...extra.values()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
    return { kind: 'rows', result: { columns: reply.result.columns, rows } };
  }
}
