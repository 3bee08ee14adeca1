/**
 * The telemetry module's internal contracts. The PromQL engine (promql/), the ingest decoders
 * (ingest/), the store (store/) and the routes are built against these, so each can be read and
 * tested on its own.
 */

/** A series' labels, `__name__` included, as Prometheus has them. */
export type Labels = Record<string, string>;

/** One sample as decoded from an exposition, a push or OTLP. `t` is epoch ms; absent means "at ingest time". */
export interface Sample {
  labels: Labels;
  value: number;
  t?: number;
  /**
   * A staleness marker (value NaN): the series ended here. Carried as a flag because V8 does not
   * keep NaN payload bits once a number lands in a packed double array (see isStaleMarker).
   */
  stale?: boolean;
}

/**
 * Prometheus' staleness marker: a specific NaN bit pattern (0x7ff0000000000002) written when a
 * series disappears from a scrape. Queries treat a series as gone from the marker on.
 *
 * Caution: V8 canonicalises NaN when a number is stored in a packed double array (`number[]` of
 * doubles), which erases the pattern. Inside opsdeck, staleness therefore travels as an explicit
 * flag (`Sample.stale`, `RawSeries.stale`); these helpers are for wire formats only.
 */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

export function staleMarker(): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, STALE_NAN_BITS);
  return view.getFloat64(0);
}

export function isStaleMarker(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return view.getBigUint64(0) === STALE_NAN_BITS;
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** A series with its samples in time order within the asked window. */
export interface RawSeries {
  labels: Labels;
  /** Epoch ms, ascending. */
  t: number[];
  /** Same length as `t`. NaN is an ordinary NaN sample, never a staleness marker. */
  v: number[];
  /** Ascending times of staleness markers in the window (not in `t`/`v`): the series ended there. */
  stale?: number[];
}

/**
 * Where the PromQL engine reads raw samples from. The built-in store implements it over SQL; tests
 * and the Prometheus comparison use an in-memory implementation. `select` returns every series
 * whose labels match all matchers, with its samples in [startMs, endMs] (both inclusive).
 */
export interface SeriesSource {
  select(matchers: LabelMatcher[], startMs: number, endMs: number): Promise<RawSeries[]>;
}

/** Prometheus HTTP API result shapes (`data` of /api/v1/query and /api/v1/query_range). */
export type PromValue = [number, string]; // [unix seconds, value as string]
export type QueryData =
  | { resultType: 'vector'; result: Array<{ metric: Labels; value: PromValue }> }
  | { resultType: 'matrix'; result: Array<{ metric: Labels; values: PromValue[] }> }
  | { resultType: 'scalar'; result: PromValue }
  | { resultType: 'string'; result: PromValue };
