// A worker's side of the machine-wide admin console: the console session lives on whichever worker
// the kernel gave its connection to; commands about the machine go to the supervisor, which runs
// them on every worker (`run`) and hands back each worker's answer (`fanned`); the answers are
// merged here (admin/fan-out.ts).
import { fanOutOf, mergeAction, mergeShow, type WorkerAnswer } from '../admin/fan-out.ts';
import type { Outcome } from '../admin/dispatch.ts';
import { runLocalAdminCommand } from '../admin/dispatch.ts';
import type { AdminGroup, AdminHost } from '../admin/host.ts';
import { tag, type AdminReply, type Cell } from '../admin/result.ts';
import type { FanOutScope, FromWorker } from './messages.ts';
import type { WorkerPlan } from './worker-plan.ts';

/** The worker's end of the IPC channel: sends, and matches `fanned` answers to requests. */
export class WorkerChannel {
  readonly #send: (m: FromWorker) => boolean;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (a: readonly WorkerAnswer[]) => void; reject: (e: Error) => void }>();

  constructor(send: (m: FromWorker) => boolean) {
    this.#send = send;
  }

  send(m: FromWorker): boolean {
    return this.#send(m);
  }

  fanOut(command: string, scope: FanOutScope): Promise<readonly WorkerAnswer[]> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (!this.#send({ t: 'fanout', id, command, scope })) {
        this.#waiting.delete(id);
        reject(new Error('the supervisor is gone'));
      }
    });
  }

  answered(id: number, answers: readonly WorkerAnswer[]): void {
    const w = this.#waiting.get(id);
    this.#waiting.delete(id);
    w?.resolve(answers);
  }

  /** The supervisor went away: nothing pending will be answered. */
  closed(): void {
    for (const w of this.#waiting.values()) w.reject(new Error('the supervisor is gone'));
    this.#waiting.clear();
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
