import type { AnalysisPhase } from '../contracts.js';
import { type Condition, EvaluationError, type Value } from './evaluate.js';

/**
 * Argo Rollouts' measurement semantics. A metric is measured every `interval` up to `count`
 * times (forever when unbounded, until the run is terminated); each measurement is Successful,
 * Failed, Inconclusive or Error. The judge adds NoData: too few samples yet, which counts
 * toward nothing but `noDataLimit`. The run's phase is the worst of its metrics'.
 */
export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
export type MeasurementOutcome = MeasurementPhase | 'NoData';
export type MetricPhase = Exclude<AnalysisPhase, never>;

export interface MetricLimits {
  /** Measurements to take; undefined: unbounded (background runs until terminated). */
  count?: number;
  failureLimit: number;
  consecutiveErrorLimit: number;
  inconclusiveLimit: number;
  /** NoData measurements tolerated before the metric is Inconclusive; undefined: no limit but `count`. */
  noDataLimit?: number;
  dryRun: boolean;
}

export interface MetricState {
  phase: MetricPhase;
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
  noData: number;
  last: MeasurementOutcome | null;
  /** Why the metric reached its phase. */
  message: string | null;
}

export function initialMetricState(): MetricState {
  return {
    phase: 'Running',
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    noData: 0,
    last: null,
    message: null,
  };
}

/** Counts one measurement; consecutive errors reset on any other outcome. */
export function countMeasurement(state: MetricState, outcome: MeasurementOutcome): MetricState {
  const next = { ...state, count: state.count + 1, last: outcome };
  if (outcome === 'Error') {
    next.error++;
    next.consecutiveError++;
    return next;
  }
  next.consecutiveError = 0;
  if (outcome === 'Successful') next.successful++;
  else if (outcome === 'Failed') next.failed++;
  else if (outcome === 'Inconclusive') next.inconclusive++;
  else next.noData++;
  return next;
}

/**
 * The metric's phase after its measurements so far (Argo's assessMetricStatus). `terminating`:
 * the run is being stopped, so a metric still running ends Successful.
 */
export function assessMetric(
  limits: MetricLimits,
  state: MetricState,
  terminating: boolean,
): { phase: MetricPhase; message: string | null } {
  const m = (phase: MetricPhase, message: string) => ({ phase, message });
  if (state.failed > limits.failureLimit) {
    return m(
      'Failed',
      `${state.failed} failed measurement${plural(state.failed)} ${verb(state.failed)} the failure limit of ${limits.failureLimit}`,
    );
  }
  if (state.inconclusive > limits.inconclusiveLimit) {
    return m(
      'Inconclusive',
      `${state.inconclusive} inconclusive measurement${plural(state.inconclusive)} ${verb(state.inconclusive)} the limit of ${limits.inconclusiveLimit}`,
    );
  }
  if (state.consecutiveError > limits.consecutiveErrorLimit) {
    return m(
      'Error',
      `${state.consecutiveError} consecutive measurement error${plural(state.consecutiveError)} ${verb(state.consecutiveError)} the limit of ${limits.consecutiveErrorLimit}`,
    );
  }
  if (limits.noDataLimit !== undefined && state.noData > limits.noDataLimit) {
    return m(
      'Inconclusive',
      `${state.noData} measurement${plural(state.noData)} without enough data ${verb(state.noData)} the limit of ${limits.noDataLimit}`,
    );
  }
  if (limits.count !== undefined && state.count >= limits.count) {
    if (state.last === 'NoData') return m('Inconclusive', `never had enough data in ${state.count} measurements`);
    return m('Successful', `${state.count} measurement${plural(state.count)} taken`);
  }
  if (terminating) return m('Successful', `terminated after ${state.count} measurement${plural(state.count)}`);
  return { phase: 'Running', message: null };
}

const plural = (n: number) => (n === 1 ? '' : 's');
const verb = (n: number) => (n === 1 ? 'exceeds' : 'exceed');

/** Worse phases win: Failed > Error > Inconclusive > Successful; Running is not final. */
const SEVERITY: Record<MetricPhase, number> = { Running: 0, Successful: 1, Inconclusive: 2, Error: 3, Failed: 4 };

export function worst(phases: MetricPhase[]): MetricPhase {
  return phases.reduce<MetricPhase>((acc, p) => (SEVERITY[p] > SEVERITY[acc] ? p : acc), 'Successful');
}

export function isFinal(phase: MetricPhase): boolean {
  return phase !== 'Running';
}

/**
 * The run's phase from its metrics. Any non-dry-run metric ending Failed, Error or Inconclusive
 * ends the run at once (the rest are terminated); otherwise the run ends Successful when every
 * non-dry-run metric has (every metric, when all are dry runs). Dry-run metrics never set the phase.
 */
export function runPhase(metrics: { dryRun: boolean; phase: MetricPhase }[]): MetricPhase {
  const counted = metrics.filter((m) => !m.dryRun);
  const deciding = counted.length > 0 ? counted : metrics;
  const bad = counted.filter((m) => m.phase === 'Failed' || m.phase === 'Error' || m.phase === 'Inconclusive');
  if (bad.length > 0) return worst(bad.map((m) => m.phase));
  if (deciding.every((m) => isFinal(m.phase))) return 'Successful';
  return 'Running';
}

/**
 * One measurement's phase from its result (Argo's EvaluateResult): with neither condition it is
 * Successful; with only a success condition, not meeting it fails; with only a failure condition,
 * not meeting it succeeds; with both and neither met, it is Inconclusive. A condition that cannot
 * be evaluated on the result is an Error.
 */
export function evaluateConditions(
  conditions: { success?: Condition; failure?: Condition },
  scope: Record<string, Value>,
): { phase: MeasurementPhase; message: string } {
  const { success, failure } = conditions;
  let met: { success: boolean; failure: boolean };
  try {
    met = { success: success ? success.test(scope) : false, failure: failure ? failure.test(scope) : false };
  } catch (err) {
    if (err instanceof EvaluationError) return { phase: 'Error', message: `cannot evaluate the condition: ${err.message}` };
    throw err;
  }
  if (!success && !failure) return { phase: 'Successful', message: 'no conditions' };
  if (failure && met.failure) return { phase: 'Failed', message: `failureCondition '${failure.source}' met` };
  if (success && !failure) {
    return met.success
      ? { phase: 'Successful', message: `successCondition '${success.source}' met` }
      : { phase: 'Failed', message: `successCondition '${success.source}' not met` };
  }
  if (failure && !success) return { phase: 'Successful', message: `failureCondition '${failure.source}' not met` };
  return met.success
    ? { phase: 'Successful', message: `successCondition '${success!.source}' met` }
    : { phase: 'Inconclusive', message: `neither successCondition '${success!.source}' nor failureCondition '${failure!.source}' met` };
}
