/**
 * Anomaly detection for alert rules of type `anomaly`: the rule engine runs the rule's query over a history
 * window and asks whether the latest point is anomalous. Every detector is a pure function of that window,
 * so a restarted engine answers the same; `createStreamingDetector` is the same detector fed point by point.
 */
export { createStreamingDetector, detect, lookbackMs } from './detector.js';
export type { AnomalyResult } from './guards.js';
export {
  type AnomalySpec,
  type ChangepointSpec,
  type Direction,
  type EnsembleSpec,
  type GuardOptions,
  type Issue,
  type LikelihoodOptions,
  type MemberSpec,
  type RobustSpec,
  type SeasonalSpec,
  validateAnomalySpec,
} from './spec.js';
