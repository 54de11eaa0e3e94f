// The cluster gate (cluster-gate.ts) shares a pooler's share of a cluster budget between the
// cluster's pools on demand. Fake pools stand in for backend/pool.ts: what matters is what the
// gate tells them (may open, yield on release) and whom it wakes.
import { describe, expect, it } from 'vitest';
import { ClusterGate, type GatedPool } from './cluster-gate.ts';

class FakePool implements GatedPool {
  leaseUsage = 0;
  idle = 0;
  kicks = 0;
  closeOneIdle(): boolean {
    if (this.idle === 0) return false;
    this.idle--;
    this.leaseUsage--;
    return true;
  }
  kick(): void {
    this.kicks++;
  }
}

describe('cluster gate', () => {
  it('a tenant that always has clients queued does not keep the whole share from a blocked tenant', () => {
    const gate = new ClusterGate('c');
    const a = new FakePool();
    const b = new FakePool();
    gate.add(a);
    gate.add(b);
    gate.setLimit(2);
    // Tenant A holds the whole share, both connections busy, more of its clients queued.
    a.leaseUsage = 2;
    // Tenant B needs one: nothing is idle, it waits at the gate.
    expect(gate.mayOpen(b)).toBe(false);
    // A's transactions end one after the other; its own queue never empties. Without a bound,
    // every connection A gives back goes to A's next client and B waits until checkout_timeout.
    let yielded = 0;
    for (let i = 0; i < 100 && yielded === 0; i++) if (gate.shouldYield(a, true)) yielded++;
    expect(yielded, 'A gives one connection back to the cluster for B').toBe(1);
    // The yielded connection closes: B is woken and may open.
    a.leaseUsage = 1;
    gate.wake();
    expect(b.kicks).toBe(1);
    expect(gate.mayOpen(b)).toBe(true);
    b.leaseUsage = 1;
    // Each now holds its half: A keeps its connection for its own queue.
    expect(gate.shouldYield(a, true)).toBe(false);
  });

  it('two tenants that both want more than an even split keep what they hold (no connection handed back and forth)', () => {
    const gate = new ClusterGate('c');
    const a = new FakePool();
    const b = new FakePool();
    gate.add(a);
    gate.add(b);
    gate.setLimit(3);
    a.leaseUsage = 2;
    b.leaseUsage = 1;
    expect(gate.mayOpen(a)).toBe(false);
    expect(gate.mayOpen(b)).toBe(false);
    expect(gate.shouldYield(a, true)).toBe(false);
    expect(gate.shouldYield(b, true)).toBe(false);
  });

  it('a tenant alone on the cluster keeps its connections for its queue', () => {
    const gate = new ClusterGate('c');
    const a = new FakePool();
    gate.add(a);
    gate.add(new FakePool());
    gate.setLimit(3);
    a.leaseUsage = 3;
    expect(gate.mayOpen(a)).toBe(false);
    expect(gate.shouldYield(a, true)).toBe(false);
  });
});
