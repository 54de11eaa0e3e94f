// Checkout-wait percentiles between two samples of the pooler's histogram, the way Prometheus'
// histogram_quantile() reads cumulative buckets (linear interpolation inside the bucket).
// The pooler observes only checkouts that had to queue; the others waited ~0, so they are counted
// as zero-wait observations: checkouts − queued.

export interface HistogramSample {
  buckets: { le: number; count: number }[];
  count: number;
}

export function windowQuantile(prev: HistogramSample & { checkouts: number }, cur: HistogramSample & { checkouts: number }, q: number): number | undefined {
  const queued = cur.count - prev.count;
  const immediate = Math.max(0, cur.checkouts - prev.checkouts - queued);
  const total = queued + immediate;
  if (total <= 0 || queued < 0) return undefined;
  const rank = q * total;
  if (rank <= immediate) return 0;
  const target = rank - immediate;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of cur.buckets) {
    const before = prev.buckets.find((p) => p.le === b.le)?.count ?? 0;
    const c = b.count - before;
    if (c >= target) {
      const inBucket = c - lowerCount;
      return inBucket > 0 ? lowerLe + ((b.le - lowerLe) * (target - lowerCount)) / inBucket : b.le;
    }
    lowerLe = b.le;
    lowerCount = c;
  }
  // Above the largest finite bucket: report its bound (a lower bound of the real value).
  return lowerLe;
}
