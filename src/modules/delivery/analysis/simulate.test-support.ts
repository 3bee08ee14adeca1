import { LATENCY_BUCKETS_MS } from '../../../agent/protocol.js';
import type { TrafficTotal } from '../../runtime/index.js';

// Seeded simulation helpers for the statistics tests: reproducible runs, no Math.random.

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Binomial(n, p) by counting Bernoulli draws. */
export function binomial(random: () => number, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (random() < p) x++;
  return x;
}

/** A log-normal latency around `medianMs` (σ = 0.6 on the log scale) plus `extraMs`. */
export function latency(random: () => number, medianMs: number, extraMs = 0): number {
  const u = random() || 1e-12;
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.exp(Math.log(medianMs) + 0.6 * z) + extraMs;
}

/** Index of the LATENCY_BUCKETS_MS bucket a latency falls in (last: +Inf). */
export function bucketOf(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return i < 0 ? LATENCY_BUCKETS_MS.length : i;
}

export function emptyBuckets(): number[] {
  return new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
}

/** A running traffic total that simulated requests are added to. */
export class SimulatedVersion {
  readonly total: TrafficTotal;
  constructor(
    version: string,
    private readonly random: () => number,
    private readonly errorRate: number,
    private readonly medianMs = 8,
    private readonly extraMs = 0,
  ) {
    this.total = { version, requests: 0, byClass: { '2xx': 0, '5xx': 0 }, latencyBuckets: emptyBuckets(), from: 0, to: 0 };
  }

  serve(n: number): this {
    for (let i = 0; i < n; i++) {
      const failed = this.random() < this.errorRate;
      this.total.requests++;
      this.total.byClass[failed ? '5xx' : '2xx']!++;
      this.total.latencyBuckets[bucketOf(latency(this.random, this.medianMs, this.extraMs))]!++;
    }
    return this;
  }
}
