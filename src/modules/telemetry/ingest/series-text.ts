import type { Labels } from '../contracts.js';

/**
 * A series as its exposition text names it (`name{a="1",b="2"}`, spelled as on the line), parsed
 * once. Exposition text is highly repetitive between pushes and scrapes, so a cache from that raw
 * text to the parsed series lets known lines skip building label objects and canonical keys;
 * only a cache miss runs the full label parse (Prometheus' scrape cache does the same).
 */
export interface ParsedSeries {
  /** The metric name as written. */
  readonly name: string;
  /** Labels as parsed, `__name__` included: shared by every sample of the series, never mutate. */
  readonly labels: Labels;
  /** Whether the parsed labels have `le` / `quantile` (histogram buckets and summaries need them). */
  readonly hasLe: boolean;
  readonly hasQuantile: boolean;
}

/** Raw series text → what the caller keeps for it (at least the parse). */
export interface SeriesTextCache<E extends ParsedSeries> {
  /** The entry for exactly this series text, if known. */
  get(text: string): E | undefined;
  /** Called on a miss, after the full parse of the line's series succeeded. */
  add(text: string, parsed: ParsedSeries): E;
}

/**
 * A bounded cache for pushes, where the set of senders is open: past `max` entries it starts over
 * (misses cost a full parse, nothing else), so label churn cannot grow memory without bound.
 */
export class BoundedSeriesCache<E extends ParsedSeries> implements SeriesTextCache<E> {
  private readonly map = new Map<string, E>();

  constructor(
    private readonly create: (parsed: ParsedSeries) => E,
    private readonly max = 200_000,
  ) {}

  get(text: string): E | undefined {
    return this.map.get(text);
  }

  add(text: string, parsed: ParsedSeries): E {
    if (this.map.size >= this.max) this.map.clear();
    const entry = this.create(parsed);
    this.map.set(text, entry);
    return entry;
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * A copy of `s` that does not keep alive the string it was sliced from. V8 represents a slice of 13
 * or more characters as a view into its parent, so a cached series text or label value sliced from a
 * request body would otherwise keep that whole body in memory for as long as the cache holds it.
 */
export function detached(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}

/** The parse of a series with every string detached (see detached), for keeping in a cache. */
export function detachedSeries(parsed: ParsedSeries): ParsedSeries {
  const labels: Labels = {};
  for (const name of Object.keys(parsed.labels)) {
    const value = detached(parsed.labels[name]!);
    if (name === '__proto__') Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
    else labels[detached(name)] = value;
  }
  return { name: labels.__name__ ?? detached(parsed.name), labels, hasLe: parsed.hasLe, hasQuantile: parsed.hasQuantile };
}
