import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS_MS, type VersionTraffic } from '../protocol.js';

export const CLASSES = ['2xx', '3xx', '4xx', '5xx', 'error'] as const;
/** Connection failures, timeouts, aborted exchanges: nothing the application answered. */
export const ERROR_CLASS = 4;

export function statusClass(status: number): number {
  return status >= 500 ? 3 : status >= 400 ? 2 : status >= 300 ? 1 : 0;
}

const SECONDS_BUCKETS = LATENCY_BUCKETS_MS.map((ms) => ms / 1000);

interface Counts {
  requests: number;
  byClass: number[];
  buckets: number[];
}

const zeroCounts = (): Counts => ({ requests: 0, byClass: CLASSES.map(() => 0), buckets: [...LATENCY_BUCKETS_MS, Infinity].map(() => 0) });

/**
 * Cumulative RED counts of one version. The hot path bumps plain numbers; Prometheus counters and
 * gauges read them at scrape time, and takeTraffic diffs them against the last snapshot.
 */
export class VersionStats {
  readonly total: Counts = zeroCounts();
  private taken: Counts = zeroCounts();
  takenAt: number;
  inFlight = 0;
  mirrorInFlight = 0;
  /** The version left the desired state: report its last delta, then forget it. */
  stale = false;
  private readonly observe: (seconds: number) => void;

  constructor(
    readonly service: string,
    readonly version: string,
    histogram: Histogram<'service' | 'version'>,
    now: number,
  ) {
    this.takenAt = now;
    const child = histogram.labels(service, version);
    this.observe = (seconds) => child.observe(seconds);
  }

  record(cls: number, ms: number): void {
    const t = this.total;
    t.requests++;
    t.byClass[cls]++;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]) i++;
    t.buckets[i]++;
    this.observe(ms / 1000);
  }

  take(now: number): VersionTraffic {
    const { total, taken } = this;
    const traffic: VersionTraffic = {
      service: this.service,
      version: this.version,
      from: this.takenAt,
      to: now,
      requests: total.requests - taken.requests,
      byClass: Object.fromEntries(CLASSES.map((c, i) => [c, total.byClass[i] - taken.byClass[i]])),
      latencyBuckets: total.buckets.map((n, i) => n - taken.buckets[i]),
    };
    this.taken = { requests: total.requests, byClass: [...total.byClass], buckets: [...total.buckets] };
    this.takenAt = now;
    return traffic;
  }
}

/** The router's Prometheus registry (never the global one) and its per-version counts. */
export class RouterMetrics {
  readonly registry = new Registry();
  private readonly stats = new Map<string, VersionStats>();
  private readonly duration: Histogram<'service' | 'version'>;
  private readonly ejections: Counter<'service' | 'version'>;
  private readonly mirrored: Counter<'service' | 'version' | 'class'>;
  private readonly faults: Counter<'service' | 'version' | 'kind'>;

  constructor() {
    const registers = [this.registry];
    const all = () => this.stats.values();
    new Counter({
      name: 'opsdeck_router_requests_total',
      help: 'Requests proxied, by version and status class (error: connection failure, timeout or abort).',
      labelNames: ['service', 'version', 'class'],
      registers,
      collect() {
        this.reset();
        for (const s of all())
          for (const [i, c] of CLASSES.entries()) this.inc({ service: s.service, version: s.version, class: c }, s.total.byClass[i]);
      },
    });
    new Gauge({
      name: 'opsdeck_router_in_flight',
      help: 'Requests being proxied now.',
      labelNames: ['service', 'version'],
      registers,
      collect() {
        this.reset();
        for (const s of all()) this.set({ service: s.service, version: s.version }, s.inFlight);
      },
    });
    new Gauge({
      name: 'opsdeck_router_mirror_in_flight',
      help: 'Mirrored (shadow) requests being sent now.',
      labelNames: ['service', 'version'],
      registers,
      collect() {
        this.reset();
        for (const s of all()) if (s.mirrorInFlight > 0) this.set({ service: s.service, version: s.version }, s.mirrorInFlight);
      },
    });
    this.duration = new Histogram({
      name: 'opsdeck_router_request_duration_seconds',
      help: 'Time from request to the end of the response, as the router sees it.',
      labelNames: ['service', 'version'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.ejections = new Counter({
      name: 'opsdeck_router_ejections_total',
      help: 'Instances ejected by passive outlier detection.',
      labelNames: ['service', 'version'],
      registers,
    });
    this.mirrored = new Counter({
      name: 'opsdeck_router_mirror_requests_total',
      help: 'Mirrored (shadow) requests completed, by status class; their responses are discarded.',
      labelNames: ['service', 'version', 'class'],
      registers,
    });
    this.faults = new Counter({
      name: 'opsdeck_router_faults_injected_total',
      help: 'Requests affected by an injected fault.',
      labelNames: ['service', 'version', 'kind'],
      registers,
    });
  }

  /** The stats of a version, created on first use (and revived if it had gone stale). */
  version(service: string, version: string, now: number): VersionStats {
    const key = `${service}\u0000${version}`;
    let s = this.stats.get(key);
    if (!s) {
      s = new VersionStats(service, version, this.duration, now);
      this.stats.set(key, s);
    }
    s.stale = false;
    return s;
  }

  /** Marks versions of `service` outside `keep` stale: their last delta is reported, then dropped. */
  retain(service: string, keep: ReadonlySet<string>): void {
    for (const s of this.stats.values()) if (s.service === service && !keep.has(s.version)) s.stale = true;
  }

  ejected(service: string, version: string): void {
    this.ejections.inc({ service, version });
  }

  mirrorDone(service: string, version: string, cls: number): void {
    this.mirrored.inc({ service, version, class: CLASSES[cls] });
  }

  faultInjected(service: string, version: string, kind: string): void {
    this.faults.inc({ service, version, kind });
  }

  take(now: number): VersionTraffic[] {
    const out: VersionTraffic[] = [];
    for (const [key, s] of this.stats) {
      const traffic = s.take(now);
      // Version '' holds requests answered before a version was chosen: Prometheus only.
      if (s.version !== '' && (!s.stale || traffic.requests > 0)) out.push(traffic);
      if (s.stale && s.inFlight === 0) {
        this.stats.delete(key);
        this.duration.remove(s.service, s.version);
        this.ejections.remove(s.service, s.version);
      }
    }
    return out;
  }
}
