/**
 * The analysis tables. Times are UTC epoch milliseconds; JSON columns hold text. A run keeps its
 * resolved metrics (templates may change while it runs) and each metric's counters; every
 * measurement is kept with the Decision that explains it.
 */
export interface AnalysisRunsTable {
  id: string;
  rollout_id: string;
  service: string;
  canary: string;
  stable: string;
  mode: 'inline' | 'background' | 'prePromotion' | 'postPromotion';
  step: number | null;
  /** JSON: the template names, or "builtin". */
  templates: string;
  /** JSON ResolvedMetric[]. */
  metrics: string;
  /** JSON Record<metric name, MetricState>. */
  state: string;
  phase: 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
  reason: string | null;
  started_at: number;
  finished_at: number | null;
  updated_at: number;
}

export interface AnalysisMeasurementsTable {
  run_id: string;
  metric: string;
  /** 1-based measurement number within the metric: the job payload names it, so a re-run job stores it once. */
  seq: number;
  at: number;
  outcome: 'Successful' | 'Failed' | 'Inconclusive' | 'Error' | 'NoData';
  /** JSON Decision. */
  decision: string;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    analysis_runs: AnalysisRunsTable;
    analysis_measurements: AnalysisMeasurementsTable;
  }
}
