import { type Static, Type } from '@sinclair/typebox';
import { MAX_EXPRESSION_LENGTH } from './expression.js';

/** Metric names: DNS labels, as they show up in URLs, logs and decision records. */
export const METRIC_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const ARG_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

const Duration = Type.String({ format: 'duration' });
/** A version, or a placeholder such as `{{args.canary}}`. */
const VersionRef = Type.String({ minLength: 1, maxLength: 200 });
const Condition = Type.String({ minLength: 1, maxLength: MAX_EXPRESSION_LENGTH });

export const RUNTIME_QUERIES = ['errorRatio', 'p50', 'p95', 'p99', 'rate', 'requests'] as const;
export type RuntimeQuery = (typeof RUNTIME_QUERIES)[number];

/**
 * The runtime's per-version traffic stats as a metric source. The telemetry query language
 * (PromQL subset) replaces this as the general provider once the telemetry module lands.
 */
export const RuntimeProvider = Type.Object({
  query: Type.Union(
    RUNTIME_QUERIES.map((q) => Type.Literal(q)),
    { errorMessage: `must be one of ${RUNTIME_QUERIES.join(', ')}` },
  ),
  /** Default `{{args.canary}}`. */
  version: Type.Optional(VersionRef),
  /** The trailing window the value is computed over; default 1m. */
  window: Type.Optional(Duration),
});

/** The built-in baseline judge: canary against stable over the traffic since the run started. */
export const JudgeProvider = Type.Object({
  check: Type.Union([Type.Literal('errorRatio'), Type.Literal('latency')], { errorMessage: 'must be errorRatio or latency' }),
  /** Default `{{args.canary}}` and `{{args.stable}}`. */
  canary: Type.Optional(VersionRef),
  stable: Type.Optional(VersionRef),
  alpha: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 0.5 })),
  minRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  minRequestsToFail: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  /** errorRatio floor as a fraction: 0.001 = 0.1 percentage points. */
  maxErrorRatioDelta: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  maxP99DeltaMs: Type.Optional(Type.Number({ minimum: 0, maximum: 3_600_000 })),
  minEffectSize: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  tau: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  /** A critical check fails the run on its first High verdict; default: errorRatio yes, latency no. */
  critical: Type.Optional(Type.Boolean()),
  /** Measurements with too few requests tolerated before the metric is Inconclusive. */
  noDataLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
});

/** A PromQL query to the telemetry module (built-in store or a MetricsProvider): one number per measurement. */
export const PromqlProvider = Type.Object({
  /** May use {{args.name}}, e.g. `sum(rate(orders_total{version="{{args.canary}}"}[5m]))`. Must return a scalar or one series. */
  query: Type.String({ minLength: 1, maxLength: 10_000 }),
  /** A MetricsProvider name; the built-in store by default. */
  metricsProvider: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
});

export const AnalysisMetric = Type.Object({
  name: Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 63, errorMessage: "must be lower-case letters, digits and '-'" }),
  interval: Duration,
  /** Measurements to take; unset: one per interval until the run ends (background analysis). */
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  initialDelay: Type.Optional(Duration),
  successCondition: Type.Optional(Condition),
  failureCondition: Type.Optional(Condition),
  failureLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
  consecutiveErrorLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 4 })),
  inconclusiveLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
  /** Measured and recorded, but never affects the run's phase. */
  dryRun: Type.Optional(Type.Boolean()),
  /** Exactly one of the sections (checked by the kind's validate, so schema errors point inside the section). */
  provider: Type.Object({
    runtime: Type.Optional(RuntimeProvider),
    judge: Type.Optional(JudgeProvider),
    promql: Type.Optional(PromqlProvider),
  }),
});
export type AnalysisMetric = Static<typeof AnalysisMetric>;

export const AnalysisTemplateSpec = Type.Object({
  /** Arguments the metrics read as `{{args.name}}` (provider fields) and `args.name` (conditions). */
  args: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ pattern: ARG_NAME_PATTERN, maxLength: 63, errorMessage: 'must be a name such as canary or error_budget' }),
        value: Type.Optional(Type.String({ maxLength: 1024 })),
      }),
      { maxItems: 32 },
    ),
  ),
  metrics: Type.Array(AnalysisMetric, { minItems: 1, maxItems: 20 }),
});
export type AnalysisTemplateSpec = Static<typeof AnalysisTemplateSpec>;

/** Arguments every run has, from the rollout: canary and stable versions, service, rollout id. */
export const BUILTIN_ARGS = ['canary', 'stable', 'service', 'rollout'] as const;
