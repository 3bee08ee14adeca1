import { LATENCY_BUCKETS_MS } from '../../../agent/protocol.js';
import type { RuntimeApi, TrafficTotal } from '../../runtime/index.js';
import type { Sample } from '../contracts.js';

/** Reports reach the control plane a little after their interval ends: leave them this long. */
const REPORT_LAG_MS = 5000;

/**
 * The agents' router metrics as series in the built-in store: the traffic the agents report
 * (every version's requests by status class and latency histogram) accumulated into
 * `opsdeck_router_requests_total{service,version,class}` and
 * `opsdeck_router_request_duration_seconds_bucket{service,version,le}` — the same names and labels
 * as the agent's own /metrics. Counters start when this process becomes the leader, from the
 * traffic the runtime still holds; a new leader's lower start is a counter reset to rate() and
 * increase(), as for any restarted exporter.
 */
export class RouterMetrics {
  private readonly counters = new Map<string, Sample>();
  private cursor: number | undefined;

  constructor(private readonly runtime: RuntimeApi) {}

  /** Samples at `now` for every series, with the traffic reported since the last collection added. */
  async collect(services: string[], now: number): Promise<Sample[]> {
    const to = now - REPORT_LAG_MS;
    // The first collection takes all the traffic the runtime still holds, so nothing before it is lost.
    const from = this.cursor ?? 0;
    this.cursor = to;
    if (to > from) {
      for (const service of services) {
        let totals: TrafficTotal[];
        try {
          totals = await this.runtime.traffic(service, { from, to });
        } catch {
          continue; // not in the runtime (yet)
        }
        for (const t of totals) this.add(service, t);
      }
    }
    return [...this.counters.values()].map((s) => ({ ...s, t: now }));
  }

  private bump(labels: Record<string, string>, by: number): void {
    const key = JSON.stringify(labels);
    const s = this.counters.get(key);
    if (s) s.value += by;
    else this.counters.set(key, { labels, value: by });
  }

  private add(service: string, t: TrafficTotal): void {
    const base = { job: 'opsdeck-router', service, version: t.version };
    for (const [cls, n] of Object.entries(t.byClass)) this.bump({ __name__: 'opsdeck_router_requests_total', ...base, class: cls }, n);
    let cumulative = 0;
    // Prometheus buckets are cumulative: le="0.005" counts every request of 5 ms or less.
    LATENCY_BUCKETS_MS.forEach((ms, i) => {
      cumulative += t.latencyBuckets[i] ?? 0;
      this.bump({ __name__: 'opsdeck_router_request_duration_seconds_bucket', ...base, le: String(ms / 1000) }, cumulative);
    });
    cumulative += t.latencyBuckets[LATENCY_BUCKETS_MS.length] ?? 0;
    this.bump({ __name__: 'opsdeck_router_request_duration_seconds_bucket', ...base, le: '+Inf' }, cumulative);
    this.bump({ __name__: 'opsdeck_router_request_duration_seconds_count', ...base }, cumulative);
  }
}
