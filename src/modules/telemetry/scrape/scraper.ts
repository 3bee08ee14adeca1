import type { Labels, Sample } from '../contracts.js';
import { parseExposition } from '../ingest/index.js';
import { seriesKey } from '../store/metric-store.js';

/** One thing to scrape, with the labels its samples get (`job`, `instance`, `service`, `version`...). */
export interface ScrapeTarget {
  /** Stable identity across ticks: `service/instance`. */
  key: string;
  url: string;
  labels: Labels;
  intervalMs: number;
  timeoutMs: number;
}

export interface ScrapeOutcome {
  samples: Sample[];
  up: boolean;
  error?: string;
}

interface TargetState {
  lastAt: number;
  /** Series (by key) seen in the last scrape: the ones that vanish get staleness markers. */
  seen: Map<string, Labels>;
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
      write: (samples: Sample[]) => Promise<unknown>;
      fetchText?: (url: string, timeoutMs: number) => Promise<{ text: string; contentType: string }>;
    },
  ) {}

  /**
   * Scrapes the due targets in parallel and waits for them (ticks never overlap, so a target is
   * never scraped twice at once); targets no longer listed are marked stale and forgotten.
   */
  async tick(targets: ScrapeTarget[]): Promise<void> {
    const now = this.options.now();
    const listed = new Set(targets.map((t) => t.key));
    for (const [key, st] of this.state) {
      if (listed.has(key)) continue;
      this.state.delete(key);
      await this.options.write(staleAll(st, now));
    }
    const due = targets.filter((t) => {
      const st = this.state.get(t.key);
      return !st || now - st.lastAt >= t.intervalMs;
    });
    await Promise.all(due.map((t) => this.scrapeOne(t, now)));
  }

  private async scrapeOne(target: ScrapeTarget, at: number): Promise<void> {
    let st = this.state.get(target.key);
    if (!st) {
      st = { lastAt: 0, seen: new Map() };
      this.state.set(target.key, st);
    }
    st.lastAt = at;
    const outcome = await this.scrape(target, at);
    const current = new Map<string, Labels>();
    for (const s of outcome.samples) current.set(seriesKey(s.labels), s.labels);
    const gone: Sample[] = [];
    for (const [key, labels] of st.seen) if (!current.has(key)) gone.push({ labels, value: Number.NaN, t: at, stale: true });
    st.seen = current;
    await this.options.write([...outcome.samples, ...gone]);
  }

  private async scrape(target: ScrapeTarget, at: number): Promise<ScrapeOutcome> {
    const started = performance.now();
    const meta = (name: string, value: number): Sample => ({ labels: { ...target.labels, __name__: name }, value, t: at });
    try {
      const { text, contentType } = await (this.options.fetchText ?? fetchText)(target.url, target.timeoutMs);
      const parsed = parseExposition(text, { contentType, defaultTimestamp: at });
      const samples = parsed.samples.map((s) => ({ ...s, labels: withTargetLabels(s.labels, target.labels), t: s.t ?? at }));
      const seconds = (performance.now() - started) / 1000;
      return {
        up: true,
        samples: [...samples, meta('up', 1), meta('scrape_duration_seconds', seconds), meta('scrape_samples_scraped', samples.length)],
      };
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      return {
        up: false,
        error: (err as Error).message,
        samples: [meta('up', 0), meta('scrape_duration_seconds', seconds), meta('scrape_samples_scraped', 0)],
      };
    }
  }
}

function staleAll(st: TargetState, at: number): Sample[] {
  return [...st.seen.values()].map((labels) => ({ labels, value: Number.NaN, t: at, stale: true }));
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
