import { type Static, Type } from '@sinclair/typebox';

const Duration = Type.String({ pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$', errorMessage: "must be a duration such as '30s', '5m' or '1h30m'" });
const LabelMap = Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String({ maxLength: 4096 }));

/** One rule, in Prometheus' rule-file shape (`alert`, `expr`, `for`, ...), plus `anomaly`. */
export const RuleSpec = Type.Object({
  alert: Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', maxLength: 200 }),
  expr: Type.String({ minLength: 1, maxLength: 10_000 }),
  for: Type.Optional(Duration),
  keep_firing_for: Type.Optional(Duration),
  labels: Type.Optional(LabelMap),
  annotations: Type.Optional(LabelMap),
  /** Alert when the latest point of each series of `expr` is anomalous against its own history. */
  anomaly: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type RuleSpec = Static<typeof RuleSpec>;

/** `AlertRule`: one Prometheus rule group. */
export const AlertRuleSpec = Type.Object({
  /** Evaluation interval; default 15s, at least 1s. */
  interval: Type.Optional(Duration),
  /** A MetricsProvider name; the built-in store by default. */
  provider: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  /** The service these alerts concern (a `service` label on the result overrides it). */
  service: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  rules: Type.Array(RuleSpec, { minItems: 1, maxItems: 500 }),
});
export type AlertRuleSpec = Static<typeof AlertRuleSpec>;

export const ALERT_RULE_KIND = 'AlertRule';
