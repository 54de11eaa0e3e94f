import { describe, expect, it } from 'vitest';
import { exampleCluster } from '../testing/examples.ts';
import { applyWriterChange } from './writer-change.ts';

const A = { host: '10.0.0.1', port: 5432 };
const B = { host: '10.0.0.2', port: 5432 };
const C = { host: '10.0.0.3', port: 5432 };
const T0 = '2025-01-01T12:00:00.000Z';
const T1 = '2025-01-01T12:05:00.000Z';
const T2 = '2025-01-01T12:10:00.000Z';
const EARLIER = '2025-01-01T11:59:59.999Z';

describe('applyWriterChange (the epoch rule)', () => {
  const base = exampleCluster({ writer: A, readers: [B], epoch: 3, lastEventTime: T0 });

  it('bumps the epoch by one and records the event time when the writer changed', () => {
    const r = applyWriterChange(base, { writer: B, readers: [A] }, T1);
    expect(r.changed).toBe(true);
    expect(r.writerChanged).toBe(true);
    expect(r.cluster.epoch).toBe(4);
    expect(r.cluster.writer).toEqual(B);
    expect(r.cluster.readers).toEqual([A]);
    expect(r.cluster.lastEventTime).toBe(T1);
    // Pure: the store owns version and updatedAt, and the input is not mutated.
    expect(r.cluster.version).toBe(base.version);
    expect(base.writer).toEqual(A);
    expect(base.epoch).toBe(3);
  });

  it('does not change anything when the same writer is observed again', () => {
    const r = applyWriterChange(base, { writer: { ...A }, readers: [{ ...B }] }, T1);
    expect(r.changed).toBe(false);
    expect(r.cluster).toBe(base);
  });

  it('treats a duplicate event (same time, same outcome) as a no-op after it was applied', () => {
    const first = applyWriterChange(base, { writer: B, readers: [A] }, T1);
    const dup = applyWriterChange(first.cluster, { writer: B, readers: [A] }, T1);
    expect(dup.changed).toBe(false);
    expect(dup.cluster.epoch).toBe(4);
  });

  it('applies a writer change carrying exactly the last event time (>=, not >)', () => {
    const r = applyWriterChange(base, { writer: C, readers: [] }, T0);
    expect(r.changed).toBe(true);
    expect(r.cluster.epoch).toBe(4);
  });

  it('ignores a late event older than the last applied one, even if it reports another writer', () => {
    const applied = applyWriterChange(base, { writer: B, readers: [A] }, T2).cluster;
    const late = applyWriterChange(applied, { writer: C, readers: [] }, T1);
    expect(late.changed).toBe(false);
    expect(late.cluster).toBe(applied);
    expect(late.cluster.epoch).toBe(4);
    expect(late.cluster.writer).toEqual(B);
  });

  it('ignores events older than the cluster itself', () => {
    const r = applyWriterChange(base, { writer: B, readers: [] }, EARLIER);
    expect(r.changed).toBe(false);
  });

  it('never moves the epoch back over a sequence of out-of-order events', () => {
    let c = base;
    const events: [string, typeof A][] = [
      [T2, B],
      [T1, C],
      [T0, A],
      [T2, B],
    ];
    const epochs: number[] = [];
    for (const [t, w] of events) {
      c = applyWriterChange(c, { writer: w, readers: [] }, t).cluster;
      epochs.push(c.epoch);
    }
    expect(epochs).toEqual([4, 4, 4, 4]);
    expect(c.writer).toEqual(B);
    expect(c.lastEventTime).toBe(T2);
  });

  it('leaves the cluster alone when no writer is observed (mid-failover)', () => {
    const r = applyWriterChange(base, { writer: null, readers: [B] }, T1);
    expect(r.changed).toBe(false);
    expect(r.cluster.writer).toEqual(A);
  });

  it('updates readers without bumping the epoch when only the readers changed', () => {
    const r = applyWriterChange(base, { writer: A, readers: [B, C] }, T1);
    expect(r.changed).toBe(true);
    expect(r.writerChanged).toBe(false);
    expect(r.cluster.epoch).toBe(3);
    expect(r.cluster.readers).toEqual([B, C]);
    expect(r.cluster.lastEventTime).toBe(T1);
  });

  it('compares readers regardless of order', () => {
    const c = exampleCluster({ writer: A, readers: [B, C], lastEventTime: T0 });
    expect(applyWriterChange(c, { writer: A, readers: [C, B] }, T1).changed).toBe(false);
  });

  it('counts a port change as a writer change', () => {
    const r = applyWriterChange(base, { writer: { host: A.host, port: 5433 }, readers: [B] }, T1);
    expect(r.writerChanged).toBe(true);
    expect(r.cluster.epoch).toBe(4);
  });

  it('accepts a Date and normalizes the stored time to ISO', () => {
    const r = applyWriterChange(base, { writer: B, readers: [] }, new Date(Date.parse(T1)));
    expect(r.cluster.lastEventTime).toBe(T1);
  });

  it('rejects an unparseable event time', () => {
    expect(() => applyWriterChange(base, { writer: B, readers: [] }, 'yesterday')).toThrow(RangeError);
  });
});
