// The console's RELOAD on a worker of `--workers N` is a typed request for the machine's reload
// (`reloadAll`, answered with every worker's outcome), not the text "RELOAD" fanned out for each
// worker's console to parse; the answers merge as before (any worker's failure is the answer).
import { describe, expect, it } from 'vitest';
import type { WorkerAnswer } from '../admin/fan-out.ts';
import type { AdminHost } from '../admin/host.ts';
import { tag } from '../admin/result.ts';
import type { FromWorker } from './messages.ts';
import { WorkerAdminGroup, WorkerChannel } from './worker-admin.ts';
import type { WorkerPlan } from './worker-plan.ts';

function group(answer: (m: FromWorker) => readonly WorkerAnswer[]): { run: (q: string) => ReturnType<WorkerAdminGroup['run']>; sent: FromWorker[] } {
  const sent: FromWorker[] = [];
  const channel: WorkerChannel = new WorkerChannel((m) => {
    sent.push(m);
    if ('id' in m) {
      const id = m.id;
      setImmediate(() => channel.answered(id, answer(m)));
    }
    return true;
  });
  const plan = { slot: 1, count: 2 } as WorkerPlan;
  const g = new WorkerAdminGroup({} as AdminHost, channel, plan);
  return { run: (q) => g.run(q), sent };
}

const ok = (worker: number): WorkerAnswer => ({ worker, ok: true, reply: tag('RELOAD') });

describe('the console RELOAD with workers', () => {
  it('asks the supervisor for the machine reload with a typed message', async () => {
    const g = group(() => [ok(1), ok(2)]);
    const out = await g.run('reload;');
    expect(g.sent).toEqual([{ t: 'reloadAll', id: expect.any(Number), reason: 'admin' }]);
    expect(out.reply).toMatchObject({ kind: 'tag' });
    // Other actions still fan out as console commands.
    await g.run('RECONNECT');
    expect(g.sent[1]).toMatchObject({ t: 'fanout', command: 'RECONNECT', scope: 'serving' });
  });

  it('answers the failure of any worker, naming it', async () => {
    const g = group(() => [ok(1), { worker: 2, ok: false, error: { code: 'RELOAD_FAILED', message: 'reload failed, the running configuration stays: bad', hint: undefined } }]);
    await expect(g.run('RELOAD')).rejects.toThrow('reload failed, the running configuration stays: bad (worker 2)');
  });
});
