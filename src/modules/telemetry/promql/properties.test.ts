import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatValue } from './format.js';
import { bucketQuantile } from './histogram.js';
import { MemorySeriesSource } from './memory-source.js';
import { quantile } from './stats.js';
import { instant } from './test-helpers.js';

const STEP = 15_000;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('properties', () => {
  it('increase over a window whose samples touch both edges is the sum of rises plus reset values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 40 }), async (vals) => {
        const src = new MemorySeriesSource().addSeries({ __name__: 'c' }, 0, STEP, vals);
        const end = (vals.length - 1) * STEP;
        const got = Number((await instant(src, `increase(c[${end / 1000}s])`, end))['{}']);
        let want = 0;
        for (let i = 1; i < vals.length; i++) want += vals[i]! >= vals[i - 1]! ? vals[i]! - vals[i - 1]! : vals[i]!;
        expect(close(got, want)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('rate over a counter equals increase divided by the range', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 14_999 }),
        async (incs, rangeSteps, jitter) => {
          let c = 0;
          const vals = incs.map((d) => (c += d));
          const src = new MemorySeriesSource().addSeries({ __name__: 'c' }, 0, STEP, vals);
          const t = vals.length * STEP + jitter;
          const r = `${rangeSteps * 15}s`;
          const rate = await instant(src, `rate(c[${r}])`, t);
          const inc = await instant(src, `increase(c[${r}])`, t);
          expect(Object.keys(rate)).toEqual(Object.keys(inc));
          if (rate['{}'] !== undefined) expect(close(Number(rate['{}']) * rangeSteps * 15, Number(inc['{}']))).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('sum by (a) equals grouping by hand', async () => {
    const series = fc.uniqueArray(
      fc.record({
        a: fc.constantFrom('x', 'y', 'z', ''),
        b: fc.integer({ min: 0, max: 50 }),
        v: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      }),
      { selector: (s) => `${s.a}/${s.b}`, minLength: 1, maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(series, async (list) => {
        const src = new MemorySeriesSource();
        const want = new Map<string, number>();
        for (const s of list) {
          src.add({ __name__: 'm', ...(s.a ? { a: s.a } : {}), b: String(s.b) }, 0, s.v);
          want.set(s.a, (want.get(s.a) ?? 0) + s.v);
        }
        const got = await instant(src, 'sum by (a) (m)', 1000);
        expect(Object.keys(got)).toHaveLength(want.size);
        for (const [a, v] of want) expect(close(Number(got[JSON.stringify(a ? { a } : {})]), v)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('quantile lies within [min, max] and grows with φ', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (vals, p, q) => {
          const [lo, hi] = p <= q ? [p, q] : [q, p];
          const a = quantile(lo, vals);
          const b = quantile(hi, vals);
          expect(a).toBeGreaterThanOrEqual(Math.min(...vals) - 1e-6);
          expect(b).toBeLessThanOrEqual(Math.max(...vals) + 1e-6);
          expect(a).toBeLessThanOrEqual(b + 1e-6 * Math.max(1, Math.abs(b)));
        },
      ),
    );
  });

  it('histogram quantiles grow with φ, even over non-monotonic buckets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 10 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (counts, p, q) => {
          const buckets = counts.map((count, i) => ({
            upperBound: i === counts.length - 1 ? Number.POSITIVE_INFINITY : (i + 1) / 10,
            count,
          }));
          const [lo, hi] = p <= q ? [p, q] : [q, p];
          const a = bucketQuantile(lo, buckets);
          const b = bucketQuantile(hi, buckets);
          if (Number.isNaN(a) || Number.isNaN(b)) return;
          expect(a).toBeLessThanOrEqual(b + 1e-12);
        },
      ),
    );
  });

  it('formatted values parse back to the same number', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (v) => {
        const s = formatValue(v).replace('Inf', 'Infinity');
        expect(Object.is(Number(s), v)).toBe(true);
      }),
    );
  });
});
