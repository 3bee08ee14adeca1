import { LATENCY_BUCKETS_MS, type VersionTraffic } from '../../agent/protocol.js';
import { trafficBetween, trafficSince } from './agents.store.js';
import { type RuntimeContext, requireService } from './context.js';
import { listAssignments } from './runtime.store.js';

/** Traffic deltas are kept this long: the widest stats window. */
export const TRAFFIC_RETENTION_MS = 24 * 3_600_000;

/**
 * The q-quantile (0 ≤ q ≤ 1) of a latency histogram: `counts[i]` requests took at most
 * `bounds[i]` ms (and more than `bounds[i-1]`); the last count is the +Inf bucket. Linear
 * interpolation inside the bucket the rank falls in, as Prometheus' histogram_quantile does; a
 * rank in the +Inf bucket answers the largest finite bound. Null without observations.
 */
export function histogramQuantile(counts: number[], q: number, bounds: number[] = LATENCY_BUCKETS_MS): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count > 0 && below + count >= rank) {
      const lower = i === 0 ? 0 : bounds[Math.min(i, bounds.length) - 1]!;
      if (i >= bounds.length) return lower;
      const upper = bounds[i]!;
      return lower + ((upper - lower) * Math.max(0, rank - below)) / count;
    }
    below += count;
  }
  return bounds.at(-1) ?? null;
}

export interface VersionStats {
  version: string;
  requests: number;
  /** Requests per second over the part of the window the reports cover. */
  rate: number;
  /** (5xx + connection errors/timeouts) / requests; null without requests. */
  errorRatio: number | null;
  byClass: Record<string, number>;
  /** Latency quantiles in ms; null without requests. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ServiceStats {
  service: string;
  windowMs: number;
  from: number;
  to: number;
  versions: VersionStats[];
}

/** Sums traffic deltas of one version. */
export function summarize(version: string, rows: VersionTraffic[], windowStart: number): VersionStats {
  const byClass: Record<string, number> = {};
  const buckets: number[] = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  let requests = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    requests += row.requests;
    for (const [cls, n] of Object.entries(row.byClass)) byClass[cls] = (byClass[cls] ?? 0) + n;
    row.latencyBuckets.forEach((n, i) => {
      if (i < buckets.length) buckets[i] += n;
    });
    from = Math.min(from, row.from);
    to = Math.max(to, row.to);
  }
  const seconds = rows.length ? Math.max(1, (to - Math.max(from, windowStart)) / 1000) : 1;
  const errors = (byClass['5xx'] ?? 0) + (byClass.error ?? 0);
  const q = (p: number) => {
    const v = histogramQuantile(buckets, p);
    return v === null ? null : Math.round(v * 1000) / 1000;
  };
  return {
    version,
    requests,
    rate: Math.round((requests / seconds) * 1000) / 1000,
    errorRatio: requests > 0 ? errors / requests : null,
    byClass,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

/** Per-version rate, error ratio and latency quantiles over the last `windowMs`. */
export async function serviceStats(ctx: RuntimeContext, service: string, windowMs: number): Promise<ServiceStats> {
  await requireService(ctx, service);
  const now = ctx.core.clock.now();
  const from = now - Math.min(windowMs, TRAFFIC_RETENTION_MS);
  const rows = await trafficSince(ctx.core.db, service, from);
  const versions = new Set(rows.map((r) => r.version));
  for (const a of await listAssignments(ctx.core.db, service)) if (a.weight > 0 || a.instances > 0) versions.add(a.version);
  return {
    service,
    windowMs,
    from,
    to: now,
    versions: [...versions].sort().map((v) =>
      summarize(
        v,
        rows.filter((r) => r.version === v),
        from,
      ),
    ),
  };
}

/** A version's traffic summed over a window: counts, not ratios, so callers can run their own statistics. */
export interface TrafficTotal {
  version: string;
  requests: number;
  byClass: Record<string, number>;
  /** Counts per LATENCY_BUCKETS_MS bound, last = +Inf. */
  latencyBuckets: number[];
  /** Start of the earliest and end of the latest report interval summed. */
  from: number;
  to: number;
}

/** Per-version sums of the traffic intervals ending in (`from`, `to`], versions sorted; only versions with reports. */
export async function trafficWindow(ctx: RuntimeContext, service: string, window: { from: number; to: number }): Promise<TrafficTotal[]> {
  await requireService(ctx, service);
  const totals = new Map<string, TrafficTotal>();
  for (const row of await trafficBetween(ctx.core.db, service, window.from, window.to)) {
    let total = totals.get(row.version);
    if (!total) {
      total = {
        version: row.version,
        requests: 0,
        byClass: {},
        latencyBuckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
        from: row.from,
        to: row.to,
      };
      totals.set(row.version, total);
    }
    total.requests += row.requests;
    for (const [cls, n] of Object.entries(row.byClass)) total.byClass[cls] = (total.byClass[cls] ?? 0) + n;
    row.latencyBuckets.forEach((n, i) => {
      if (i < total.latencyBuckets.length) total.latencyBuckets[i]! += n;
    });
    total.from = Math.min(total.from, row.from);
    total.to = Math.max(total.to, row.to);
  }
  return [...totals.values()].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}
