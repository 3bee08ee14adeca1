import type { Labels } from '../contracts.js';
import { type ExpositionBatch, type ParsedSeries, parseExpositionBatch, type SeriesTextCache } from '../ingest/index.js';
import { type SampleBatch, type SeriesHandle, seriesKey } from '../store/metric-store.js';

/** One thing to scrape, with the labels its samples get (`job`, `instance`, `service`, `version`...). */
export interface ScrapeTarget {
  /** Stable identity across ticks: `service/instance`. */
  key: string;
  url: string;
  labels: Labels;
  intervalMs: number;
  timeoutMs: number;
}

/**
 * A series of one target, found by its raw exposition text: `labels` are the stored ones (target
 * labels applied), `ref` the store's handle, `seen` the number of the last scrape that wrote it.
 */
interface TargetSeries extends ParsedSeries, SeriesHandle {
  readonly labels: Labels;
  seen: number;
}

/** At most this much earlier than its interval a target counts as due (see tick). */
const INTERVAL_SLACK_MS = 250;

const META = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'] as const;

/**
 * Per target, like Prometheus' scrape cache: raw series text → series, so a known line costs a map
 * lookup, not a label parse, a target-label merge and a series lookup.
 */
class TargetState implements SeriesTextCache<TargetSeries> {
  /** When the last scrape was due (its tick's scheduled time). */
  lastAt = 0;
  scrapes = 0;
  readonly series = new Map<string, TargetSeries>();
  readonly meta: TargetSeries[];
  /** Series written under target labels that have since changed: gone unless still scraped. */
  orphans: TargetSeries[] = [];

  constructor(
    readonly targetLabels: Labels,
    readonly labelsSig: string,
  ) {
    this.meta = META.map((name) => ({ name, labels: { ...targetLabels, __name__: name }, hasLe: false, hasQuantile: false, seen: 0 }));
  }

  get(text: string): TargetSeries | undefined {
    return this.series.get(text);
  }

  add(text: string, parsed: ParsedSeries): TargetSeries {
    const entry: TargetSeries = { ...parsed, labels: withTargetLabels(parsed.labels, this.targetLabels), seen: 0 };
    this.series.set(text, entry);
    return entry;
  }

  /** Series the last scrape wrote (the ones a vanished target leaves stale). */
  written(): TargetSeries[] {
    const out = this.meta.filter((m) => m.seen > 0 && m.seen === this.scrapes);
    for (const s of this.series.values()) if (s.seen > 0 && s.seen === this.scrapes) out.push(s);
    return out;
  }
}

/**
 * Scrapes targets on their intervals the way Prometheus does: target labels override scraped
 * ones (the scraped value is kept as `exported_<name>`), every scrape writes `up`,
 * `scrape_duration_seconds` and `scrape_samples_scraped`, and series that disappear, including
 * all of a target that goes away, get a staleness marker.
 */
export class Scraper {
  private readonly state = new Map<string, TargetState>();

  constructor(
    private readonly options: {
      now: () => number;
      /** Samples without a timestamp of their own are at `defaultTimestamp` (the scrape's start). */
      write: (batch: SampleBatch, defaultTimestamp: number) => Promise<unknown>;
      fetchText?: (url: string, timeoutMs: number) => Promise<{ text: string; contentType: string }>;
    },
  ) {}

  /**
   * Scrapes the due targets in parallel and waits for them (ticks never overlap, so a target is
   * never scraped twice at once); targets no longer listed are marked stale and forgotten.
   * `scheduledAt` is when the tick was due: intervals are measured on the schedule, so a tick that
   * starts late (the event loop was busy) neither skips a target nor delays the next scrape.
   */
  async tick(targets: ScrapeTarget[], scheduledAt?: number): Promise<void> {
    const now = this.options.now();
    const due = scheduledAt ?? now;
    const listed = new Set(targets.map((t) => t.key));
    for (const [key, st] of this.state) {
      if (listed.has(key)) continue;
      this.state.delete(key);
      await this.options.write(staleMarkers([...st.written(), ...st.orphans], now), now);
    }
    // Ticks may still come a little early or late relative to each other (unscheduled calls,
    // timer drift): without some slack a 1 s target on 1 s ticks could be found 999 ms old and
    // be scraped every 2 s instead.
    const scrape = targets.filter((t) => {
      const st = this.state.get(t.key);
      return !st || due - st.lastAt >= t.intervalMs - Math.min(t.intervalMs / 10, INTERVAL_SLACK_MS);
    });
    await Promise.all(scrape.map((t) => this.scrapeOne(t, now, due)));
  }

  private stateFor(target: ScrapeTarget): TargetState {
    const sig = JSON.stringify(target.labels);
    let st = this.state.get(target.key);
    if (st?.labelsSig === sig) return st;
    // New target, or its labels changed: every cached series has the old labels.
    const next = new TargetState(target.labels, sig);
    if (st) {
      next.orphans = [...st.written(), ...st.orphans];
      next.lastAt = st.lastAt;
      next.scrapes = st.scrapes;
    }
    st = next;
    this.state.set(target.key, st);
    return st;
  }

  private async scrapeOne(target: ScrapeTarget, at: number, due: number): Promise<void> {
    const st = this.stateFor(target);
    st.lastAt = due;
    const cur = ++st.scrapes;
    const started = performance.now();
    let scraped: ExpositionBatch<TargetSeries> | undefined;
    try {
      const { text, contentType } = await (this.options.fetchText ?? fetchText)(target.url, target.timeoutMs);
      scraped = parseExpositionBatch(text, st, { contentType });
    } catch {
      // The scrape failed: up is 0 and every series it wrote last time is gone.
      scraped = undefined;
    }
    const seconds = (performance.now() - started) / 1000;
    const n = scraped?.length ?? 0;
    for (let i = 0; i < n; i++) scraped!.series[i]!.seen = cur;
    const metaValues = [scraped ? 1 : 0, seconds, n];
    for (const m of st.meta) m.seen = cur;

    const gone = this.vanished(st, cur);
    const total = n + META.length + gone.length;
    const series: TargetSeries[] = new Array(total);
    const t = new Float64Array(total);
    const v = new Float64Array(total);
    const stale = new Uint8Array(total);
    for (let i = 0; i < n; i++) series[i] = scraped!.series[i]!;
    if (scraped) {
      t.set(scraped.t.subarray(0, n));
      v.set(scraped.v.subarray(0, n));
    }
    for (let k = 0; k < META.length; k++) {
      series[n + k] = st.meta[k]!;
      t[n + k] = at;
      v[n + k] = metaValues[k]!;
    }
    for (let k = 0; k < gone.length; k++) {
      const i = n + META.length + k;
      series[i] = gone[k]!;
      t[i] = at;
      v[i] = Number.NaN;
      stale[i] = 1;
    }
    await this.options.write({ length: total, series, t, v, stale }, at);
  }

  /**
   * Series written before but not by scrape `cur`: forgotten, and returned for staleness markers
   * unless the same series was written under another spelling of its text.
   */
  private vanished(st: TargetState, cur: number): TargetSeries[] {
    const candidates = st.orphans;
    st.orphans = [];
    for (const [text, s] of st.series) {
      if (s.seen === cur) continue;
      st.series.delete(text);
      if (s.seen > 0) candidates.push(s);
    }
    if (!candidates.length) return [];
    const current = new Set<string>();
    for (const m of st.meta) current.add(seriesKey(m.labels));
    for (const s of st.series.values()) current.add(seriesKey(s.labels));
    return candidates.filter((s) => !current.has(seriesKey(s.labels)));
  }
}

function staleMarkers(series: SeriesHandle[], at: number): SampleBatch {
  const n = series.length;
  return { length: n, series, t: new Float64Array(n).fill(at), v: new Float64Array(n).fill(Number.NaN), stale: new Uint8Array(n).fill(1) };
}

/** Target labels win; a scraped label they override is kept as `exported_<name>` (honor_labels: false). */
export function withTargetLabels(scraped: Labels, target: Labels): Labels {
  const out: Labels = { ...scraped };
  for (const [name, value] of Object.entries(target)) {
    if (out[name] !== undefined && out[name] !== value) out[`exported_${name}`] = out[name]!;
    out[name] = value;
  }
  return out;
}

async function fetchText(url: string, timeoutMs: number): Promise<{ text: string; contentType: string }> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1' },
  });
  if (!res.ok) throw new Error(`server returned HTTP status ${res.status}`);
  return { text: await res.text(), contentType: res.headers.get('content-type') ?? 'text/plain' };
}
