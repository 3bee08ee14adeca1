import type { StoredResource } from '../../../core/resources/resources.js';
import type { TelemetryApi } from '../../telemetry/index.js';
import { detect, lookbackMs, validateAnomalySpec } from '../anomaly/index.js';
import { groupIntervalMs, type ResultSample } from './evaluate.js';
import type { AlertRuleSpec, RuleSpec } from './rule.schema.js';

/** Most points per series fetched for a detector (Prometheus' range-query limit). */
const MAX_POINTS = 10_000;

/**
 * An anomaly rule's result: the rule's query over the detector's history at the group's
 * interval, and each series whose latest point the detector calls anomalous, with its sentence
 * (as the `anomaly` annotation) and band.
 */
export async function anomalousSamples(
  telemetry: TelemetryApi,
  rule: RuleSpec,
  group: StoredResource<AlertRuleSpec>,
  now: number,
): Promise<ResultSample[]> {
  const checked = validateAnomalySpec(rule.anomaly);
  if ('issues' in checked) throw new Error(`invalid anomaly spec: ${checked.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
  const spec = checked.spec;
  // The detector's own look-back: its window, the seasons it compares, and any likelihood window.
  const history = lookbackMs(spec);
  const step = Math.max(groupIntervalMs(group.spec), Math.ceil(history / MAX_POINTS));
  const start = now - history;
  const data = await telemetry.queryRange({
    query: rule.expr,
    start: start - (start % step),
    end: now,
    step,
    provider: group.spec.provider,
  });
  if (data.resultType !== 'matrix') throw new Error(`anomaly rules need a query returning an instant vector, got ${data.resultType}`);
  const out: ResultSample[] = [];
  for (const series of data.result) {
    const t = series.values.map(([s]) => Math.round(s * 1000));
    const v = series.values.map(([, x]) => Number(x));
    // Only a series with a point at this evaluation is judged: a gap is not an anomaly.
    if (!t.length || now - t[t.length - 1]! > step) continue;
    const result = detect(spec, { t, v });
    if (!result.anomalous) continue;
    const annotations: Record<string, string> = { anomaly: result.reason, anomaly_score: String(Number(result.score.toFixed(3))) };
    if (result.expected !== null) annotations.anomaly_expected = String(result.expected);
    if (result.lower !== null && result.upper !== null) annotations.anomaly_band = `${result.lower} – ${result.upper}`;
    out.push({ labels: series.metric, value: v[v.length - 1]!, annotations });
  }
  return out;
}
