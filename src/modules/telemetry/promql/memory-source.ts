import { isStaleMarker, type LabelMatcher, type Labels, type RawSeries, type SeriesSource } from '../contracts.js';
import { labelsKey, matcherPredicate } from './labels.js';
import { lowerBound, upperBound } from './search.js';

interface StoredSeries {
  labels: Labels;
  t: number[];
  v: number[];
  /**
   * Staleness markers kept as flags: V8 canonicalises NaN payloads stored in plain number arrays,
   * so the marker's bit pattern would not survive in `v`. They leave select() as RawSeries.stale.
   */
  stale: boolean[];
  /** Set when a sample arrived out of order; sorted lazily on the next read. */
  unsorted: boolean;
}

/**
 * A real, in-memory SeriesSource: what tests and the Prometheus comparison evaluate against.
 * Matching follows Prometheus: a label the series lacks matches as "", regexes are fully anchored.
 */
export class MemorySeriesSource implements SeriesSource {
  private readonly series = new Map<string, StoredSeries>();

  /** Records a staleness marker: the series ended at `t`. */
  addStale(labels: Labels, t: number): this {
    return this.write(labels, t, Number.NaN, true);
  }

  /** Adds one sample (the staleness marker's NaN counts as a marker); a second sample at the same timestamp replaces the first. */
  add(labels: Labels, t: number, v: number): this {
    return this.write(labels, t, v, isStaleMarker(v));
  }

  private write(labels: Labels, t: number, v: number, stale: boolean): this {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, t: [], v: [], stale: [], unsorted: false };
      this.series.set(key, s);
    }
    const last = s.t.length - 1;
    if (last >= 0 && s.t[last]! === t) {
      s.v[last] = v;
      s.stale[last] = stale;
      return this;
    }
    if (last >= 0 && s.t[last]! > t) s.unsorted = true;
    s.t.push(t);
    s.v.push(v);
    s.stale.push(stale);
    return this;
  }

  /** Adds samples `values[i]` at `start + i * interval`; `null` leaves a gap. */
  addSeries(labels: Labels, start: number, interval: number, values: Array<number | null>): this {
    values.forEach((v, i) => {
      if (v !== null) this.add(labels, start + i * interval, v);
    });
    return this;
  }

  get size(): number {
    return this.series.size;
  }

  async select(matchers: LabelMatcher[], startMs: number, endMs: number): Promise<RawSeries[]> {
    const preds = matchers.map((m) => ({ name: m.name, test: matcherPredicate(m) }));
    const out: RawSeries[] = [];
    for (const s of this.series.values()) {
      if (!preds.every((p) => p.test(s.labels[p.name] ?? ''))) continue;
      if (s.unsorted) sortSeries(s);
      const lo = lowerBound(s.t, startMs);
      const hi = upperBound(s.t, endMs);
      if (hi <= lo) continue;
      out.push(toRaw(s, lo, hi));
    }
    return out;
  }
}

/** Samples in [lo, hi) as the contract wants them: markers apart, as times in `stale`. */
function toRaw(s: StoredSeries, lo: number, hi: number): RawSeries {
  const t: number[] = [];
  const v: number[] = [];
  const stale: number[] = [];
  for (let i = lo; i < hi; i++) {
    if (s.stale[i]) stale.push(s.t[i]!);
    else {
      t.push(s.t[i]!);
      v.push(s.v[i]!);
    }
  }
  return { labels: { ...s.labels }, t, v, ...(stale.length > 0 ? { stale } : {}) };
}

function sortSeries(s: StoredSeries): void {
  const order = s.t.map((_, i) => i).sort((a, b) => s.t[a]! - s.t[b]!);
  const t: number[] = [];
  const v: number[] = [];
  const stale: boolean[] = [];
  for (const i of order) {
    // Later writes at a duplicated timestamp win, matching add().
    if (t.length > 0 && t[t.length - 1] === s.t[i]) {
      v[v.length - 1] = s.v[i]!;
      stale[stale.length - 1] = s.stale[i]!;
    } else {
      t.push(s.t[i]!);
      v.push(s.v[i]!);
      stale.push(s.stale[i]!);
    }
  }
  s.t = t;
  s.v = v;
  s.stale = stale;
  s.unsorted = false;
}
