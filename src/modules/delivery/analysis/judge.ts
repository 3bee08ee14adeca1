import { histogramQuantile, type TrafficTotal } from '../../runtime/index.js';
import type { Decision } from '../contracts.js';
import {
  confidenceSequence,
  mannWhitneyHistograms,
  mixtureLogLikelihoodRatio,
  proportionDifference,
  proportionDifferenceSequence,
} from './statistics.js';

/**
 * The built-in baseline judge: compares the canary with the stable version over the same traffic
 * window, Kayenta-style (High / Low / Pass / NoData), with always-valid sequential tests so that
 * looking every few seconds does not inflate false rollbacks. Defaults come from seed 001
 * (Pinterest): error rate > 0.1 %, p99 latency > 200 ms increase.
 */
export type JudgeCheck = 'errorRatio' | 'latency';
export type JudgeVerdict = 'High' | 'Low' | 'Pass' | 'NoData';

export interface JudgeOptions {
  check: JudgeCheck;
  /** Error probability over all looks. */
  alpha: number;
  /** Canary and stable requests needed before Pass or Low: absence of evidence needs data. */
  minRequests: number;
  /** Requests each side needs before High: keeps the normal approximation honest. */
  minRequestsToFail: number;
  /** errorRatio: the practical floor of (canary − stable) error ratio, as a fraction (0.001 = 0.1 pp). */
  maxErrorRatioDelta: number;
  /** latency: the practical floor of the p99 increase in ms. */
  maxP99DeltaMs: number;
  /** latency: the rank-biserial effect size the canary must also exceed. */
  minEffectSize: number;
  /** Mixing standard deviation: on the error-ratio difference (errorRatio) or the rank-biserial scale (latency). */
  tau: number;
}

export const JUDGE_DEFAULTS = {
  alpha: 0.05,
  minRequests: 500,
  minRequestsToFail: 100,
  maxErrorRatioDelta: 0.001,
  maxP99DeltaMs: 200,
  minEffectSize: 0.1,
  tau: { errorRatio: 0.02, latency: 0.2 },
} as const;

export function judgeOptions(check: JudgeCheck, given: Partial<Omit<JudgeOptions, 'check'>> = {}): JudgeOptions {
  return {
    check,
    alpha: given.alpha ?? JUDGE_DEFAULTS.alpha,
    minRequests: given.minRequests ?? JUDGE_DEFAULTS.minRequests,
    minRequestsToFail: given.minRequestsToFail ?? JUDGE_DEFAULTS.minRequestsToFail,
    maxErrorRatioDelta: given.maxErrorRatioDelta ?? JUDGE_DEFAULTS.maxErrorRatioDelta,
    maxP99DeltaMs: given.maxP99DeltaMs ?? JUDGE_DEFAULTS.maxP99DeltaMs,
    minEffectSize: given.minEffectSize ?? JUDGE_DEFAULTS.minEffectSize,
    tau: given.tau ?? JUDGE_DEFAULTS.tau[check],
  };
}

export interface JudgeInput {
  metric: string;
  at: number;
  canary: { version: string; traffic: TrafficTotal | undefined };
  stable: { version: string; traffic: TrafficTotal | undefined };
}

export interface Judgement {
  verdict: JudgeVerdict;
  decision: Decision;
}

export function judge(options: JudgeOptions, input: JudgeInput): Judgement {
  return options.check === 'errorRatio' ? judgeErrorRatio(options, input) : judgeLatency(options, input);
}

/** 5xx responses and connection errors/timeouts, as the runtime's stats count them. */
export function errorsOf(traffic: TrafficTotal | undefined): number {
  return traffic ? (traffic.byClass['5xx'] ?? 0) + (traffic.byClass.error ?? 0) : 0;
}

const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number | null) => (x === null ? 'n/a' : `${trim(x * 100, x < 0.001 ? 3 : 2)}%`);
const pp = (x: number) => `${x >= 0 ? '+' : '−'}${trim(Math.abs(x) * 100, 2)}`;
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${trim(Math.abs(x), digits)}`;
const ms = (x: number | null) => (x === null ? 'n/a' : `${trim(x, 1)} ms`);

function trim(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  return String(Number(x.toFixed(digits)));
}

/** Why there is not enough data yet, or undefined when there is. */
function shortage(n1: number, n0: number, need: number): string | undefined {
  if (n1 >= need && n0 >= need) return undefined;
  if (n1 < need && n0 < need) return `too few requests to judge (canary ${count(n1)}, stable ${count(n0)} of ${count(need)} each)`;
  return n1 < need
    ? `too few canary requests to judge (${count(n1)} of ${count(need)})`
    : `too few stable requests to judge (${count(n0)} of ${count(need)})`;
}

function judgeErrorRatio(options: JudgeOptions, { metric, at, canary, stable }: JudgeInput): Judgement {
  const n1 = canary.traffic?.requests ?? 0;
  const n0 = stable.traffic?.requests ?? 0;
  const x1 = errorsOf(canary.traffic);
  const x0 = errorsOf(stable.traffic);
  const r1 = n1 > 0 ? x1 / n1 : null;
  const r0 = n0 > 0 ? x0 / n0 : null;
  const floor = options.maxErrorRatioDelta;
  const mixture = { alpha: options.alpha, tau: options.tau };
  const cs = proportionDifferenceSequence({ x1, n1, x0, n0 }, mixture);
  const { estimate, variance } = proportionDifference({ x1, n1, x0, n0 });
  const confidence = `${trim((1 - options.alpha) * 100, 1)}%`;
  const observed = r1 !== null && r0 !== null ? r1 - r0 : null;
  const head = `canary error ratio ${pct(r1)} vs stable ${pct(r0)}`;
  const delta = observed === null ? '' : ` (Δ ${pp(observed)} pp, ${confidence} always-valid CI [${pp(cs.lower)}, ${pp(cs.upper)}])`;
  const over = ` over ${count(n1)} vs ${count(n0)} requests`;

  let verdict: JudgeVerdict;
  let tail: string;
  const missingToFail = shortage(n1, n0, options.minRequestsToFail);
  const missing = shortage(n1, n0, options.minRequests);
  if (!missingToFail && cs.lower > floor) {
    verdict = 'High';
    tail = `exceeds the ${trim(floor * 100, 3)} pp floor: Failed`;
  } else if (missing) {
    verdict = 'NoData';
    tail = `${missing}: NoData`;
  } else if (cs.upper < 0) {
    verdict = 'Low';
    tail = 'is lower than stable: Low';
  } else {
    verdict = 'Pass';
    tail = `shows no increase beyond the ${trim(floor * 100, 3)} pp floor: Pass`;
  }
  return {
    verdict,
    decision: {
      at,
      metric,
      verdict,
      values: {
        canaryErrorRatio: roundOrNull6(r1),
        stableErrorRatio: roundOrNull6(r0),
        errorRatioDelta: roundOrNull6(observed),
        canaryErrors: x1,
        stableErrors: x0,
        canaryVersion: canary.version,
        stableVersion: stable.version,
        baseline: 'concurrent',
      },
      samples: { canary: n1, stable: n0 },
      statistic: {
        name: `mSPRT log-likelihood ratio vs Δ = ${trim(floor * 100, 3)} pp (rejects at ln(1/α) = ${trim(Math.log(1 / options.alpha), 2)})`,
        value: round(mixtureLogLikelihoodRatio(estimate, variance, floor, options.tau)),
      },
      ...(n1 > 0 && n0 > 0 ? { interval: [round(cs.lower), round(cs.upper)] as [number, number] } : {}),
      threshold: `error ratio Δ > ${trim(floor * 100, 3)} pp (always-valid, α = ${options.alpha}, τ = ${options.tau}); needs ${count(options.minRequestsToFail)} requests per side to fail, ${count(options.minRequests)} to pass`,
      reason: `${head}${delta}${over} ${tail}`,
    },
  };
}

function judgeLatency(options: JudgeOptions, { metric, at, canary, stable }: JudgeInput): Judgement {
  const a = canary.traffic?.latencyBuckets ?? [];
  const b = stable.traffic?.latencyBuckets ?? [];
  const mw = mannWhitneyHistograms(a, b);
  const { n1, n0 } = mw;
  const p99c = histogramQuantile(a, 0.99);
  const p99s = histogramQuantile(b, 0.99);
  const p50c = histogramQuantile(a, 0.5);
  const p50s = histogramQuantile(b, 0.5);
  const p99Delta = p99c !== null && p99s !== null ? p99c - p99s : null;
  const cs = confidenceSequence(mw.rankBiserial, mw.rankBiserialVariance, { alpha: options.alpha, tau: options.tau });
  const lower = Math.max(-1, cs.lower);
  const upper = Math.min(1, cs.upper);
  const confidence = `${trim((1 - options.alpha) * 100, 1)}%`;
  const head = `canary p99 ${ms(p99c)} vs stable ${ms(p99s)}`;
  const detail =
    p99Delta === null
      ? ''
      : ` (${signed(p99Delta, 1)} ms), rank-biserial ${signed(mw.rankBiserial, 3)} (${confidence} always-valid CI [${signed(lower, 3)}, ${signed(upper, 3)}]), Mann–Whitney z ${trim(mw.z, 2)}`;
  const over = ` over ${count(n1)} vs ${count(n0)} requests`;
  const floors = `the ${trim(options.maxP99DeltaMs, 1)} ms p99 floor and the ${options.minEffectSize} effect-size floor`;

  let verdict: JudgeVerdict;
  let tail: string;
  const missingToFail = shortage(n1, n0, options.minRequestsToFail);
  const missing = shortage(n1, n0, options.minRequests);
  const significantlySlower = lower > 0;
  if (
    !missingToFail &&
    significantlySlower &&
    mw.rankBiserial >= options.minEffectSize &&
    p99Delta !== null &&
    p99Delta > options.maxP99DeltaMs
  ) {
    verdict = 'High';
    tail = `exceeds ${floors}: Failed`;
  } else if (missing) {
    verdict = 'NoData';
    tail = `${missing}: NoData`;
  } else if (upper < 0 && mw.rankBiserial <= -options.minEffectSize) {
    verdict = 'Low';
    tail = 'is faster than stable: Low';
  } else {
    verdict = 'Pass';
    const why = !significantlySlower ? 'is not significantly slower' : `is slower but within ${floors}`;
    tail = `${why}: Pass`;
  }
  return {
    verdict,
    decision: {
      at,
      metric,
      verdict,
      values: {
        canaryP99Ms: roundOrNull(p99c),
        stableP99Ms: roundOrNull(p99s),
        p99DeltaMs: roundOrNull(p99Delta),
        canaryP50Ms: roundOrNull(p50c),
        stableP50Ms: roundOrNull(p50s),
        rankBiserial: round(mw.rankBiserial),
        mannWhitneyU: mw.u,
        canaryVersion: canary.version,
        stableVersion: stable.version,
        baseline: 'concurrent',
      },
      samples: { canary: n1, stable: n0 },
      statistic: { name: 'Mann–Whitney U z (tie-corrected)', value: round(mw.z) },
      ...(mw.variance > 0 ? { interval: [round(lower), round(upper)] as [number, number] } : {}),
      threshold: `p99 increase > ${trim(options.maxP99DeltaMs, 1)} ms and rank-biserial ≥ ${options.minEffectSize}, significant by an always-valid test (α = ${options.alpha}, τ = ${options.tau}); needs ${count(options.minRequestsToFail)} requests per side to fail, ${count(options.minRequests)} to pass`,
      reason: `${head}${detail}${over} ${tail}`,
    },
  };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : x;
}

function roundOrNull(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}

function roundOrNull6(x: number | null): number | null {
  return x === null ? null : round(x);
}
