import { histogramQuantile, type RuntimeApi, type TrafficTotal } from '../../runtime/index.js';
import type { TelemetryApi } from '../../telemetry/index.js';
import type { Decision } from '../contracts.js';
import { compileCondition, type Value } from './evaluate.js';
import { errorsOf, judge } from './judge.js';
import type { ResolvedMetric } from './metrics.js';
import { evaluateConditions, type MeasurementOutcome } from './phase.js';
import type { RuntimeQuery } from './template.schema.js';

export interface Measured {
  outcome: MeasurementOutcome;
  decision: Decision;
}

export interface MeasureInput {
  runtime: RuntimeApi;
  /** PromQL metrics' source; absent in setups without the telemetry module. */
  telemetry?: TelemetryApi;
  service: string;
  /** The judge compares traffic since the run started: one growing sample, as its sequential test needs. */
  runStartedAt: number;
  metric: ResolvedMetric;
  now: number;
}

/** Takes one measurement of a metric; a failing provider gives an Error measurement, never a throw. */
export async function measure(input: MeasureInput): Promise<Measured> {
  try {
    const type = input.metric.provider.type;
    if (type === 'judge') return await measureJudge(input);
    if (type === 'promql') return await measurePromql(input);
    return await measureRuntime(input);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      outcome: 'Error',
      decision: {
        at: input.now,
        metric: input.metric.name,
        verdict: 'Error',
        values: {},
        reason: `the measurement failed: ${message}: Error`,
      },
    };
  }
}

/** The shortest look-back for a before-run baseline. */
const MIN_BASELINE_MS = 60_000;

async function measureJudge({ runtime, service, runStartedAt, metric, now }: MeasureInput): Promise<Measured> {
  if (metric.provider.type !== 'judge') throw new Error('not a judge metric');
  const { options, canary, stable } = metric.provider;
  const traffic = await runtime.traffic(service, { from: runStartedAt, to: now });
  const of = (list: TrafficTotal[], version: string) => list.find((t) => t.version === version);
  let baseline = of(traffic, stable);
  let before = false;
  const starved =
    (baseline?.requests ?? 0) < options.minRequestsToFail && (of(traffic, canary)?.requests ?? 0) >= options.minRequestsToFail;
  if (starved) {
    // The canary has data but the stable has none to speak of (blue-green after the switch sends
    // it nothing): compare with the stable's traffic over an equally long window just before the
    // run started. A canary that is merely early (less traffic than the stable) never gets here.
    const span = Math.max(now - runStartedAt, MIN_BASELINE_MS);
    const earlier = of(await runtime.traffic(service, { from: runStartedAt - span, to: runStartedAt }), stable);
    if ((earlier?.requests ?? 0) > (baseline?.requests ?? 0)) {
      baseline = earlier;
      before = true;
    }
  }
  const { verdict, decision } = judge(options, {
    metric: metric.name,
    at: now,
    canary: { version: canary, traffic: of(traffic, canary) },
    stable: { version: stable, traffic: baseline },
  });
  if (before) {
    decision.values.baseline = 'before-run';
    decision.reason = `${decision.reason} (stable baseline from before the run: it had no traffic since)`;
  }
  const outcome: MeasurementOutcome = verdict === 'High' ? 'Failed' : verdict === 'NoData' ? 'NoData' : 'Successful';
  return { outcome, decision };
}

/** A runtime query's value for one version's traffic; null without requests. */
export function queryValue(query: RuntimeQuery, traffic: TrafficTotal | undefined, windowMs: number): number | null {
  const requests = traffic?.requests ?? 0;
  switch (query) {
    case 'requests':
      return requests;
    case 'rate':
      return Math.round((requests / (windowMs / 1000)) * 1000) / 1000;
    case 'errorRatio':
      return requests > 0 ? errorsOf(traffic) / requests : null;
    default: {
      const q = { p50: 0.5, p95: 0.95, p99: 0.99 }[query];
      const value = traffic ? histogramQuantile(traffic.latencyBuckets, q) : null;
      return value === null ? null : Math.round(value * 1000) / 1000;
    }
  }
}

function windowText(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

async function measureRuntime({ runtime, service, metric, now }: MeasureInput): Promise<Measured> {
  if (metric.provider.type !== 'runtime') throw new Error('not a runtime metric');
  const { query, version, windowMs } = metric.provider;
  const traffic = (await runtime.traffic(service, { from: now - windowMs, to: now })).find((t) => t.version === version);
  const result = queryValue(query, traffic, windowMs);
  const requests = traffic?.requests ?? 0;
  // No traffic is not a provider failure: the measurement cannot tell either way.
  const { phase, message, threshold } = conditionsOutcome(metric, result, `no requests to ${version} in the window`);
  return {
    outcome: phase,
    decision: {
      at: now,
      metric: metric.name,
      verdict: phase,
      values: { result, version },
      samples: { requests },
      ...(threshold ? { threshold } : {}),
      reason: `${query} of ${service}@${version} over the last ${windowText(windowMs)} was ${result === null ? 'n/a' : String(result)} (${requests.toLocaleString('en-US')} requests): ${message}: ${phase}`,
    },
  };
}

/** One PromQL value: a scalar, or a vector of exactly one series (anything else is an Error measurement). */
async function measurePromql({ telemetry, metric, now }: MeasureInput): Promise<Measured> {
  if (metric.provider.type !== 'promql') throw new Error('not a promql metric');
  if (!telemetry) throw new Error('the telemetry module is not running');
  const { query, metricsProvider } = metric.provider;
  const data = await telemetry.query({ query, time: now, ...(metricsProvider ? { provider: metricsProvider } : {}) });
  let result: number | null;
  if (data.resultType === 'scalar') result = Number(data.result[1]);
  else if (data.resultType === 'vector') {
    if (data.result.length > 1) throw new Error(`the query returned ${data.result.length} series; aggregate it to one (e.g. sum(...))`);
    result = data.result.length ? Number(data.result[0]!.value[1]) : null;
  } else throw new Error(`the query returned a ${data.resultType}; it must return a scalar or one series`);
  if (result !== null && Number.isNaN(result)) result = null;
  const { phase, message, threshold } = conditionsOutcome(metric, result, 'the query returned no data');
  return {
    outcome: phase,
    decision: {
      at: now,
      metric: metric.name,
      verdict: phase,
      values: { result, query },
      ...(threshold ? { threshold } : {}),
      reason: `${query} was ${result === null ? 'n/a' : String(result)}${metricsProvider ? ` (from ${metricsProvider})` : ''}: ${message}: ${phase}`,
    },
  };
}

/**
 * A value judged by the metric's success/failure conditions. Without a value (no traffic, no
 * data) a condition that cannot be evaluated makes the measurement Inconclusive, not an Error:
 * the provider did not fail, it just cannot tell.
 */
function conditionsOutcome(
  metric: ResolvedMetric,
  result: number | null,
  noValue: string,
): { phase: MeasurementOutcome; message: string; threshold: string } {
  const conditions = {
    ...(metric.successCondition === undefined ? {} : { success: compileCondition(metric.successCondition) }),
    ...(metric.failureCondition === undefined ? {} : { failure: compileCondition(metric.failureCondition) }),
  };
  const scope: Record<string, Value> = { result, args: metric.args };
  let { phase, message } = evaluateConditions(conditions, scope);
  if (phase === 'Error' && result === null) {
    phase = 'Inconclusive';
    message = `${noValue}, so ${message.replace(/^cannot evaluate the condition: /, 'the condition cannot be evaluated: ')}`;
  }
  const threshold = [
    metric.successCondition === undefined ? undefined : `successCondition: ${metric.successCondition}`,
    metric.failureCondition === undefined ? undefined : `failureCondition: ${metric.failureCondition}`,
  ]
    .filter(Boolean)
    .join('; ');
  return { phase, message, threshold };
}
