import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomial, prng } from './simulate.test-support.js';
import {
  mannWhitneyHistograms,
  mixtureHalfWidth,
  mixtureLogLikelihoodRatio,
  normalCdf,
  pooledZ,
  proportionDifferenceSequence,
  twoSidedP,
} from './statistics.js';

describe('normalCdf', () => {
  it('matches known values and is symmetric and monotone', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6);
    expect(normalCdf(3)).toBeCloseTo(0.998650102, 6);
    expect(twoSidedP(1.959964)).toBeCloseTo(0.05, 5);
    fc.assert(
      fc.property(fc.double({ min: -8, max: 8, noNaN: true }), fc.double({ min: -8, max: 8, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        return normalCdf(lo) <= normalCdf(hi) + 1e-12 && Math.abs(normalCdf(a) + normalCdf(-a) - 1) < 1e-7;
      }),
    );
  });
});

describe('the mixture confidence sequence', () => {
  it('is the set of θ0 whose mixture likelihood ratio stays below 1/α', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -0.5, max: 0.5, noNaN: true }),
        fc.double({ min: 1e-8, max: 0.01, noNaN: true }),
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        fc.constantFrom(0.01, 0.05, 0.1),
        (estimate, variance, tau, alpha) => {
          const half = mixtureHalfWidth(variance, { alpha, tau });
          const atEdge = mixtureLogLikelihoodRatio(estimate, variance, estimate + half, tau);
          const inside = mixtureLogLikelihoodRatio(estimate, variance, estimate + half * 0.99, tau);
          const outside = mixtureLogLikelihoodRatio(estimate, variance, estimate + half * 1.01, tau);
          const bound = Math.log(1 / alpha);
          return Math.abs(atEdge - bound) < 1e-6 * Math.max(1, bound) && inside < bound && outside > bound;
        },
      ),
    );
  });

  it('narrows as samples grow and is wider than the fixed-sample interval', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 100_000 }), fc.double({ min: 0.001, max: 0.5, noNaN: true }), (n, p) => {
        const at = (m: number) =>
          proportionDifferenceSequence({ x1: Math.round(p * m), n1: m, x0: Math.round(p * m * 9), n0: m * 9 }, { alpha: 0.05, tau: 0.02 });
        const a = at(n);
        const b = at(n * 2);
        const fixedHalf = 1.96 * Math.sqrt(a.variance);
        return b.upper - b.lower < a.upper - a.lower && (a.upper - a.lower) / 2 > fixedHalf;
      }),
    );
  });
});

describe('peeking under H0 (same error rate on both versions)', () => {
  // 500 simulated canaries, each looked at after every one of 200 batches of 20 canary and 180
  // stable requests: a fixed-sample z-test rejects whenever any look crosses 1.96, the always-
  // valid sequence only when it really excludes zero.
  function simulate(errorRate: number, seed: number) {
    const random = prng(seed);
    let alwaysValid = 0;
    let fixed = 0;
    const runs = 500;
    for (let run = 0; run < runs; run++) {
      const c = { x1: 0, n1: 0, x0: 0, n0: 0 };
      let rejectedAv = false;
      let rejectedFixed = false;
      for (let batch = 0; batch < 200; batch++) {
        c.n1 += 20;
        c.n0 += 180;
        c.x1 += binomial(random, 20, errorRate);
        c.x0 += binomial(random, 180, errorRate);
        const cs = proportionDifferenceSequence(c, { alpha: 0.05, tau: 0.02 });
        if (cs.lower > 0 || cs.upper < 0) rejectedAv = true;
        if (Math.abs(pooledZ(c)) > 1.959964) rejectedFixed = true;
      }
      if (rejectedAv) alwaysValid++;
      if (rejectedFixed) fixed++;
    }
    return { alwaysValid: alwaysValid / runs, fixed: fixed / runs };
  }

  it.each([0.01, 0.05])(
    'the always-valid test rejects at most ~α of runs while a peeked z-test rejects far more (error rate %s)',
    (rate) => {
      const { alwaysValid, fixed } = simulate(rate, rate === 0.01 ? 11 : 12);
      expect(alwaysValid).toBeLessThanOrEqual(0.08);
      expect(fixed).toBeGreaterThan(0.2);
      expect(fixed).toBeGreaterThan(4 * alwaysValid);
    },
  );
});

/** Mid-ranks computed by sorting the expanded samples, and U by counting pairs. */
function bruteForce(a: number[], b: number[]) {
  const xs = a.flatMap((n, i) => new Array<number>(n).fill(i));
  const ys = b.flatMap((n, i) => new Array<number>(n).fill(i));
  const all = [...xs.map((v) => ({ v, first: true })), ...ys.map((v) => ({ v, first: false }))].sort((p, q) => p.v - q.v);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.v === all[i]!.v) j++;
    const mid = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.first) rankSum += mid;
    i = j;
  }
  let pairs = 0;
  for (const x of xs) for (const y of ys) pairs += x > y ? 1 : x === y ? 0.5 : 0;
  const counts = new Map<number, number>();
  for (const { v } of all) counts.set(v, (counts.get(v) ?? 0) + 1);
  const n = all.length;
  const ties = [...counts.values()].reduce((s, t) => s + t ** 3 - t, 0);
  const variance = n > 1 ? ((xs.length * ys.length) / 12) * (n + 1 - ties / (n * (n - 1))) : 0;
  return { rankSum, pairs, variance };
}

const smallHistogram = fc.array(fc.nat({ max: 6 }), { minLength: 1, maxLength: 8 });

describe('Mann–Whitney U over histograms', () => {
  it('matches a brute-force rank computation with mid-ranks and the tie-corrected variance', () => {
    fc.assert(
      fc.property(smallHistogram, smallHistogram, (a, b) => {
        const mw = mannWhitneyHistograms(a, b);
        const brute = bruteForce(a, b);
        return (
          Math.abs(mw.rankSum - brute.rankSum) < 1e-9 &&
          Math.abs(mw.u - brute.pairs) < 1e-9 &&
          Math.abs(mw.variance - brute.variance) < 1e-9 &&
          Math.abs(mw.u + mannWhitneyHistograms(b, a).u - mw.n1 * mw.n0) < 1e-9
        );
      }),
      { numRuns: 500 },
    );
  });

  it('gives the textbook answer without ties and with complete separation', () => {
    // Canary values 3, 4 (buckets 3, 4) against stable 0, 1, 2: every pair favours the canary.
    const mw = mannWhitneyHistograms([0, 0, 0, 1, 1], [1, 1, 1, 0, 0]);
    expect(mw).toMatchObject({ u: 6, n1: 2, n0: 3, mean: 3, rankBiserial: 1 });
    expect(mw.variance).toBeCloseTo((2 * 3 * 6) / 12, 12);
    expect(mannWhitneyHistograms([5], [7])).toMatchObject({ u: 17.5, rankBiserial: 0, variance: 0, z: 0 });
    expect(mannWhitneyHistograms([], [])).toMatchObject({ u: 0, n1: 0, rankBiserial: 0, z: 0 });
  });

  it('never lowers U or the rank-biserial effect when a canary observation moves to a slower bucket', () => {
    fc.assert(
      fc.property(smallHistogram, smallHistogram, fc.nat(), (a, b, pick) => {
        const from = a.findIndex((n, i) => n > 0 && i >= pick % a.length);
        if (from < 0 || from === a.length - 1) return true;
        const moved = [...a];
        moved[from]!--;
        moved[from + 1]!++;
        const before = mannWhitneyHistograms(a, b);
        const after = mannWhitneyHistograms(moved, b);
        return after.u >= before.u - 1e-9 && after.rankBiserial >= before.rankBiserial - 1e-12;
      }),
      { numRuns: 500 },
    );
  });
});
