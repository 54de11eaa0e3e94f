// The IPC request/answer correlation (pending-requests.ts): answers find their request by id, the
// number outstanding is bounded, a request waits at most its timeout, a closed channel fails
// everything outstanding, and a late answer is dropped.
import { describe, expect, it } from 'vitest';
import { PendingRequests, RequestFailed } from './pending-requests.ts';

const reasonOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'answered', (e: unknown) => (e instanceof RequestFailed ? e.reason : String(e)));

describe('PendingRequests', () => {
  it('matches answers to requests by id, in any order', async () => {
    const p = new PendingRequests<string>(10);
    const ids: number[] = [];
    const a = p.ask((id) => ids.push(id) > 0, undefined);
    const b = p.ask((id) => ids.push(id) > 0, undefined);
    expect(p.size).toBe(2);
    expect(p.answer(ids[1]!, 'second')).toBe(true);
    expect(p.answer(ids[0]!, 'first')).toBe(true);
    expect(await Promise.all([a, b])).toEqual(['first', 'second']);
    expect(p.size).toBe(0);
    expect(p.answer(ids[0]!, 'again')).toBe(false);
  });

  it('refuses a request beyond the bound at once, and takes one again once an answer arrived', async () => {
    const p = new PendingRequests<number>(2);
    const ids: number[] = [];
    const send = (id: number): boolean => ids.push(id) > 0;
    const first = p.ask(send, undefined);
    void p.ask(send, undefined).catch(() => undefined);
    expect(await reasonOf(p.ask(send, undefined))).toBe('busy');
    expect(ids).toHaveLength(2); // the refused one was never sent
    p.answer(ids[0]!, 1);
    expect(await first).toBe(1);
    const third = p.ask(send, undefined);
    expect(ids).toHaveLength(3);
    p.failAll();
    expect(await reasonOf(third)).toBe('gone');
  });

  it('fails a request after its timeout and drops the late answer', async () => {
    const p = new PendingRequests<string>(4);
    let asked = 0;
    const r = p.ask((id) => ((asked = id), true), 20);
    expect(await reasonOf(r)).toBe('timeout');
    expect(p.size).toBe(0);
    expect(p.answer(asked, 'late')).toBe(false);
  });

  it('fails at once when the channel is gone (send returns false or throws)', async () => {
    const p = new PendingRequests<string>(4);
    expect(await reasonOf(p.ask(() => false, 1000))).toBe('gone');
    expect(
      await reasonOf(
        p.ask(() => {
          throw new Error('ERR_IPC_CHANNEL_CLOSED');
        }, undefined),
      ),
    ).toBe('gone');
    expect(p.size).toBe(0);
  });

  it('fails everything outstanding when the channel closes', async () => {
    const p = new PendingRequests<string>(4);
    const all = [p.ask(() => true, undefined), p.ask(() => true, 60_000)];
    p.failAll();
    expect(await Promise.all(all.map(reasonOf))).toEqual(['gone', 'gone']);
    expect(p.size).toBe(0);
  });
});
