import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type VersionTraffic } from '../../agent/protocol.js';
import { histogramQuantile, summarize } from './stats.js';

const BOUNDS = [10, 20, 50, 100];

/** Counts for BOUNDS plus +Inf. */
const counts = (...c: number[]) => c;

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket the rank falls in', () => {
    // 10 requests ≤ 10 ms, 10 in (10, 20].
    const h = counts(10, 10, 0, 0, 0);
    expect(histogramQuantile(h, 0.5, BOUNDS)).toBe(10);
    expect(histogramQuantile(h, 0.75, BOUNDS)).toBe(15);
    expect(histogramQuantile(h, 1, BOUNDS)).toBe(20);
    expect(histogramQuantile(h, 0.25, BOUNDS)).toBe(5);
    // Empty buckets are skipped: the rank lands in (20, 50] and (50, 100].
    expect(histogramQuantile(counts(0, 0, 4, 4, 0), 0.25, BOUNDS)).toBe(35);
    expect(histogramQuantile(counts(0, 0, 4, 4, 0), 0.75, BOUNDS)).toBe(75);
  });

  it('answers the largest finite bound for ranks in +Inf and null without observations', () => {
    expect(histogramQuantile(counts(1, 0, 0, 0, 9), 0.99, BOUNDS)).toBe(100);
    expect(histogramQuantile(counts(0, 0, 0, 0, 0), 0.5, BOUNDS)).toBeNull();
    expect(histogramQuantile([], 0.5, BOUNDS)).toBeNull();
  });

  const histogram = fc.array(fc.nat({ max: 1000 }), { minLength: LATENCY_BUCKETS_MS.length + 1, maxLength: LATENCY_BUCKETS_MS.length + 1 });

  it('is monotone in q', () => {
    fc.assert(
      fc.property(histogram, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (h, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const x = histogramQuantile(h, lo);
        const y = histogramQuantile(h, hi);
        if (x === null || y === null) return x === y;
        return x <= y + 1e-9;
      }),
    );
  });

  it('stays within the bounds of a non-empty bucket, the one holding the rank', () => {
    fc.assert(
      fc.property(histogram, fc.double({ min: 0, max: 1, noNaN: true }), (h, q) => {
        const v = histogramQuantile(h, q);
        const total = h.reduce((a, b) => a + b, 0);
        if (total === 0) return v === null;
        // The bucket holding the rank: the first non-empty one whose cumulative count reaches it.
        const rank = q * total;
        let below = 0;
        let i = 0;
        for (; i < h.length; i++) {
          if (h[i]! > 0 && below + h[i]! >= rank) break;
          below += h[i]!;
        }
        const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
        const upper = i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : lower;
        return v !== null && v >= lower - 1e-9 && v <= upper + 1e-9;
      }),
    );
  });
});

describe('summarize', () => {
  it('sums deltas into rate, error ratio and quantiles over the covered part of the window', () => {
    const buckets = (at: number, n: number) => LATENCY_BUCKETS_MS.map((_, i) => (i === at ? n : 0)).concat([0]);
    const rows: VersionTraffic[] = [
      { service: 's', version: 'v', from: 0, to: 5000, requests: 50, byClass: { '2xx': 48, '5xx': 2 }, latencyBuckets: buckets(7, 50) },
      {
        service: 's',
        version: 'v',
        from: 5000,
        to: 10_000,
        requests: 50,
        byClass: { '2xx': 49, error: 1 },
        latencyBuckets: buckets(7, 50),
      },
    ];
    const stats = summarize('v', rows, 0);
    // Bucket 7 is (8, 10] ms.
    expect(stats).toEqual({
      version: 'v',
      requests: 100,
      rate: 10,
      errorRatio: 0.03,
      byClass: { '2xx': 97, '5xx': 2, error: 1 },
      p50: 9,
      p95: 9.9,
      p99: 9.98,
    });
    expect(summarize('idle', [], 0)).toMatchObject({ requests: 0, rate: 0, errorRatio: null, p50: null, p99: null });
  });
});
