import type { Generated } from 'kysely';

/**
 * The telemetry module's tables. Samples are keyed by an integer series id (not a prefixed text
 * id): a series is referenced by millions of rows, and the index has to stay small.
 */

/** One series: a metric name and its sorted label set, `__name__` included. */
export interface TelemetrySeriesTable {
  id: Generated<number>;
  metric: string;
  /** Canonical JSON of the labels (keys sorted). */
  labels: string;
  /** Digest of `labels`: the series' identity. */
  fingerprint: string;
  created_at: number;
  /** Refreshed at most hourly: series without samples for longer than retention are dropped. */
  last_seen: number;
}

/**
 * Raw samples. SQLite cannot store NaN (it becomes NULL), so `v` is NULL for NaN and `stale`
 * tells Prometheus' staleness marker apart from an ordinary NaN.
 */
export interface TelemetrySamplesTable {
  series_id: number;
  t: number;
  v: number | null;
  stale: number;
}

/** One-minute rollups of raw samples, kept longer than the samples. `t` is the minute's start. */
export interface TelemetryRollupsTable {
  series_id: number;
  t: number;
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  /** Time of the last sample in the minute. */
  last_t: number;
}

/** Singleton row: rollups are complete up to (excluding) `rolled_until`. */
export interface TelemetryRollupStateTable {
  id: number;
  rolled_until: number;
}

declare module '../../core/db/schema.js' {
  interface Schema {
    telemetry_series: TelemetrySeriesTable;
    telemetry_samples: TelemetrySamplesTable;
    telemetry_rollups: TelemetryRollupsTable;
    telemetry_rollup_state: TelemetryRollupStateTable;
  }
}
