import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS } from '../../../agent/protocol.js';
import type { TrafficTotal } from '../../runtime/index.js';
import { type JudgeOptions, judge, judgeOptions } from './judge.js';
import { emptyBuckets, prng, SimulatedVersion } from './simulate.test-support.js';
import { mannWhitneyHistograms, twoSidedP } from './statistics.js';

function run(options: JudgeOptions, canary: TrafficTotal | undefined, stable: TrafficTotal | undefined) {
  return judge(options, {
    metric: options.check,
    at: 0,
    canary: { version: '1.1.0', traffic: canary },
    stable: { version: '1.0.0', traffic: stable },
  });
}

function fixed(version: string, requests: number, errors: number, bucketMs = 10): TrafficTotal {
  const latencyBuckets = emptyBuckets();
  latencyBuckets[LATENCY_BUCKETS_MS.indexOf(bucketMs)] = requests;
  return { version, requests, byClass: { '2xx': requests - errors, '5xx': errors }, latencyBuckets, from: 0, to: 0 };
}

describe('error-ratio judge', () => {
  const options = judgeOptions('errorRatio');

  it('fails a 5% canary against a 0.1% stable within a few hundred canary requests', () => {
    const needed: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const random = prng(seed);
      const canary = new SimulatedVersion('1.1.0', random, 0.05);
      const stable = new SimulatedVersion('1.0.0', random, 0.001);
      for (let look = 1; look <= 200; look++) {
        canary.serve(10);
        stable.serve(90);
        if (run(options, canary.total, stable.total).verdict === 'High') {
          needed.push(canary.total.requests);
          break;
        }
      }
    }
    needed.sort((a, b) => a - b);
    expect(needed).toHaveLength(40);
    expect(needed[20]).toBeLessThanOrEqual(400);
    expect(needed.at(-1)).toBeLessThanOrEqual(800);
  });

  it('explains the verdict in one sentence with values, sample sizes, interval and threshold', () => {
    const { verdict, decision } = run(options, fixed('1.1.0', 812, 42), fixed('1.0.0', 7304, 7));
    expect(verdict).toBe('High');
    expect(decision.reason).toMatch(
      /^canary error ratio 5\.17% vs stable 0\.096% \(Δ \+5\.08 pp, 95% always-valid CI \[\+\d\.\d+, \+\d\.\d+\]\) over 812 vs 7,304 requests exceeds the 0\.1 pp floor: Failed$/,
    );
    expect(decision).toMatchObject({
      verdict: 'High',
      samples: { canary: 812, stable: 7304 },
      values: { canaryErrors: 42, stableErrors: 7, canaryVersion: '1.1.0', stableVersion: '1.0.0' },
      statistic: { name: expect.stringContaining('mSPRT'), value: expect.any(Number) },
      threshold: expect.stringContaining('error ratio Δ > 0.1 pp'),
    });
    expect(decision.statistic!.value).toBeGreaterThan(Math.log(20));
    const [lower, upper] = decision.interval!;
    expect(lower).toBeGreaterThan(0.001);
    expect(upper).toBeGreaterThan(0.0508);
  });

  it('waits for the minimum sample before passing, passes a healthy canary and calls a better one Low', () => {
    expect(run(options, fixed('1.1.0', 120, 0), fixed('1.0.0', 1080, 1)).decision.reason).toContain(
      'too few canary requests to judge (120 of 500): NoData',
    );
    expect(run(options, undefined, fixed('1.0.0', 1080, 1)).verdict).toBe('NoData');
    expect(run(options, fixed('1.1.0', 5000, 5), fixed('1.0.0', 45_000, 45)).verdict).toBe('Pass');
    expect(run(options, fixed('1.1.0', 20_000, 20), fixed('1.0.0', 180_000, 9000)).verdict).toBe('Low');
    // Worse, but not by more than the floor: a 0.15% canary against 0.1% is within 0.1 pp.
    expect(run(options, fixed('1.1.0', 200_000, 300), fixed('1.0.0', 1_800_000, 1800)).verdict).toBe('Pass');
    // Few requests with many errors still fail once past minRequestsToFail.
    expect(run(options, fixed('1.1.0', 99, 50), fixed('1.0.0', 900, 0)).verdict).toBe('NoData');
    expect(run(options, fixed('1.1.0', 100, 50), fixed('1.0.0', 900, 0)).verdict).toBe('High');
  });

  it('rarely fails an identical canary however often it looks (H0 with the 0.1 pp floor)', () => {
    let failed = 0;
    for (let seed = 100; seed < 300; seed++) {
      const random = prng(seed);
      const canary = new SimulatedVersion('1.1.0', random, 0.01);
      const stable = new SimulatedVersion('1.0.0', random, 0.01);
      for (let look = 0; look < 200; look++) {
        canary.serve(10);
        stable.serve(90);
        if (run(options, canary.total, stable.total).verdict === 'High') {
          failed++;
          break;
        }
      }
    }
    expect(failed / 200).toBeLessThanOrEqual(0.02);
  });
});

describe('latency judge', () => {
  const options = judgeOptions('latency');

  it('catches a +200 ms regression at the minimum sample to fail', () => {
    const random = prng(7);
    const canary = new SimulatedVersion('1.1.0', random, 0, 8, 200).serve(100);
    const stable = new SimulatedVersion('1.0.0', random, 0, 8).serve(900);
    const { verdict, decision } = run(options, canary.total, stable.total);
    expect(verdict).toBe('High');
    expect(decision.reason).toMatch(
      /^canary p99 [\d.]+ ms vs stable [\d.]+ ms \(\+[\d.]+ ms\), rank-biserial \+1 \(95% always-valid CI \[\+0\.\d+, \+1\]\), Mann–Whitney z [\d.]+ over 100 vs 900 requests exceeds the 200 ms p99 floor and the 0\.1 effect-size floor: Failed$/,
    );
    expect(decision.values.p99DeltaMs as number).toBeGreaterThan(200);
    expect(decision.statistic?.name).toBe('Mann–Whitney U z (tie-corrected)');
  });

  it('passes a slower canary within the floors, and needs data to pass', () => {
    const random = prng(8);
    // +20 ms on every request: significant, large effect, but far below the 200 ms p99 floor.
    const slower = run(
      options,
      new SimulatedVersion('1.1.0', random, 0, 8, 20).serve(2000).total,
      new SimulatedVersion('1.0.0', random, 0, 8).serve(18_000).total,
    );
    expect(slower.verdict).toBe('Pass');
    expect(slower.decision.reason).toContain('is slower but within the 200 ms p99 floor');
    const same = run(
      options,
      new SimulatedVersion('1.1.0', random, 0, 8).serve(2000).total,
      new SimulatedVersion('1.0.0', random, 0, 8).serve(18_000).total,
    );
    expect(same.verdict).toBe('Pass');
    expect(run(options, fixed('1.1.0', 300, 0, 250), fixed('1.0.0', 3000, 0, 10)).verdict).toBe('High');
    expect(run(options, fixed('1.1.0', 99, 0, 250), fixed('1.0.0', 3000, 0, 10)).verdict).toBe('NoData');
    expect(run(options, fixed('1.1.0', 600, 0, 10), fixed('1.0.0', 3000, 0, 250)).verdict).toBe('Low');
  });

  it('keeps false alarms rare under repeated looks where a peeked fixed-sample test does not', () => {
    // The effect floors are off here so only the significance tests are compared.
    const bare = { ...options, maxP99DeltaMs: Number.NEGATIVE_INFINITY, minEffectSize: -1, minRequestsToFail: 1 };
    let alwaysValid = 0;
    let fixedPeeked = 0;
    const runs = 200;
    for (let seed = 1; seed <= runs; seed++) {
      const random = prng(1000 + seed);
      const canary = new SimulatedVersion('1.1.0', random, 0, 8);
      const stable = new SimulatedVersion('1.0.0', random, 0, 8);
      let av = false;
      let fx = false;
      for (let look = 0; look < 100; look++) {
        canary.serve(20);
        stable.serve(180);
        if (!av && run(bare, canary.total, stable.total).verdict === 'High') av = true;
        if (twoSidedP(mannWhitneyHistograms(canary.total.latencyBuckets, stable.total.latencyBuckets).z) < 0.05) fx = true;
      }
      if (av) alwaysValid++;
      if (fx) fixedPeeked++;
    }
    expect(alwaysValid / runs).toBeLessThanOrEqual(0.08);
    expect(fixedPeeked / runs).toBeGreaterThan(0.2);
  });
});
