import { type Static, Type } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../../core/resources/kinds.js';

// The RolloutStrategy kind, the Service `delivery` section and the rollout API bodies.

const Duration = Type.String({ format: 'duration' });
const Percent = Type.Number({ minimum: 0, maximum: 100 });
const TemplateName = Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: 'must be an AnalysisTemplate name or builtin' });
const Args = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,62}$' }), Type.String({ maxLength: 1024 }), {
  additionalProperties: false,
});

/** `analysis: { templates, args }`: AnalysisTemplate names, or `builtin` (the baseline judge) alone. */
export const AnalysisRef = Type.Object({
  templates: Type.Array(TemplateName, { minItems: 1, maxItems: 20, uniqueItems: true }),
  args: Type.Optional(Args),
});
export type AnalysisRef = Static<typeof AnalysisRef>;

/** Background analysis of a canary: runs from `startingStep` until the rollout ends. */
export const BackgroundAnalysis = Type.Object({
  templates: Type.Array(TemplateName, { minItems: 1, maxItems: 20, uniqueItems: true }),
  args: Type.Optional(Args),
  startingStep: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
});
export type BackgroundAnalysis = Static<typeof BackgroundAnalysis>;

/** One canary step; exactly one of its fields is set (checked beyond the schema, with the pointer). */
export const CanaryStep = Type.Object({
  setWeight: Type.Optional(Percent),
  pause: Type.Optional(Type.Object({ duration: Type.Optional(Duration) })),
  analysis: Type.Optional(AnalysisRef),
  /** Announces the canary under `x-opsdeck-version: <version>` (the router routes that header already). */
  setHeaderRoute: Type.Optional(Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })) })),
  /** Copies this share of requests to the canary (responses discarded); 0 stops mirroring. */
  setMirror: Type.Optional(Type.Object({ percent: Percent })),
  /** Canary size independent of its weight; `matchTrafficWeight: true` goes back to proportional. */
  setCanaryScale: Type.Optional(
    Type.Object({
      instances: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
      percent: Type.Optional(Percent),
      matchTrafficWeight: Type.Optional(Type.Boolean()),
    }),
  ),
});
export type CanaryStep = Static<typeof CanaryStep>;
export const STEP_TYPES = ['setWeight', 'pause', 'analysis', 'setHeaderRoute', 'setMirror', 'setCanaryScale'] as const;

export const CanarySpec = Type.Object({
  steps: Type.Array(CanaryStep, { maxItems: 100 }),
  /** `none`, or background analysis; a canary that names none runs the built-in judge in the background. */
  analysis: Type.Optional(Type.Unknown({ description: "'none' or { templates, args?, startingStep? }" })),
  progressDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  /** Keep an aborted canary's instances this long (for debugging) before scaling it to 0. */
  abortScaleDownDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
});

export const BlueGreenSpec = Type.Object({
  /** Announce the new version for preview under `x-opsdeck-version` before the switch (default true). */
  previewHeader: Type.Optional(Type.Boolean()),
  prePromotionAnalysis: Type.Optional(AnalysisRef),
  postPromotionAnalysis: Type.Optional(AnalysisRef),
  /** Background analysis for the whole rollout; `none` opts out of the built-in judge. */
  analysis: Type.Optional(Type.Unknown({ description: "'none' or { templates, args? }" })),
  autoPromotionEnabled: Type.Optional(Type.Boolean()),
  autoPromotionSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  scaleDownDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  progressDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  abortScaleDownDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
});

const IntOrPercent = Type.Union([Type.Integer({ minimum: 0, maximum: 1000 }), Type.String({ pattern: '^(100|[1-9]?[0-9])%$' })], {
  errorMessage: "must be a number of instances or a percentage such as '25%'",
});

export const RollingSpec = Type.Object({
  maxUnavailable: Type.Optional(IntOrPercent),
  maxSurge: Type.Optional(IntOrPercent),
  progressDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
});

/** `spec` of a RolloutStrategy, and an inline `Service.spec.delivery.strategy`: exactly one of the three. */
export const StrategySpec = Type.Object({
  canary: Type.Optional(CanarySpec),
  blueGreen: Type.Optional(BlueGreenSpec),
  rolling: Type.Optional(RollingSpec),
});

export interface StrategySpecValue {
  canary?: {
    steps: CanaryStep[];
    analysis?: 'none' | BackgroundAnalysis;
    progressDeadlineSeconds?: number;
    abortScaleDownDelaySeconds?: number;
  };
  blueGreen?: {
    previewHeader?: boolean;
    prePromotionAnalysis?: AnalysisRef;
    postPromotionAnalysis?: AnalysisRef;
    analysis?: 'none' | BackgroundAnalysis;
    autoPromotionEnabled?: boolean;
    autoPromotionSeconds?: number;
    scaleDownDelaySeconds?: number;
    progressDeadlineSeconds?: number;
    abortScaleDownDelaySeconds?: number;
  };
  rolling?: { maxUnavailable?: number | string; maxSurge?: number | string; progressDeadlineSeconds?: number };
}

export const PRESETS = ['tiktok-default', 'pinterest-default', 'meta-default', 'fast'] as const;
export type PresetName = (typeof PRESETS)[number];

/** `Service.spec.delivery`: a RolloutStrategy name or an inline strategy, or a preset. */
export const DeliverySection = Type.Object(
  {
    strategy: Type.Optional(
      Type.Unknown({ description: 'a RolloutStrategy name, or an inline strategy { canary | blueGreen | rolling }' }),
    ),
    preset: Type.Optional(Type.Union(PRESETS.map((p) => Type.Literal(p)))),
    /** The Pipeline `opsdeck pipeline run` takes this service through (the pipelines part reads it). */
    pipeline: Type.Optional(Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: 'must be a Pipeline name' })),
  },
  { description: 'How this service is delivered: its rollout strategy' },
);
export interface DeliverySectionValue {
  strategy?: string | StrategySpecValue;
  preset?: PresetName;
  pipeline?: string;
}

// ---- API bodies ----

const Reason = Type.String({ minLength: 1, maxLength: 2000 });
const OverrideFreeze = Type.Object({ reason: Reason }, { additionalProperties: false });

export const DeployBody = Type.Object(
  {
    version: Type.String({ pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$' }),
    overrideFreeze: Type.Optional(OverrideFreeze),
    /** When the change was committed (epoch ms or an ISO-8601 time): lead time starts there. */
    commitTime: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'date-time' })])),
  },
  { additionalProperties: false },
);
export type DeployBody = Static<typeof DeployBody>;

export const ActionBody = Type.Object(
  { reason: Type.Optional(Reason), overrideFreeze: Type.Optional(OverrideFreeze) },
  { additionalProperties: false },
);
export type ActionBody = Static<typeof ActionBody>;

export const PromoteBody = Type.Object(
  { full: Type.Optional(Type.Boolean()), reason: Type.Optional(Reason), overrideFreeze: Type.Optional(OverrideFreeze) },
  { additionalProperties: false },
);
export type PromoteBody = Static<typeof PromoteBody>;

export const AbortAllBody = Type.Object({ reason: Reason }, { additionalProperties: false });

export const ServiceParams = Type.Object({ name: Type.String({ maxLength: 63 }) });

export const ListQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 63 })),
    phase: Type.Optional(Type.Union(['Progressing', 'Paused', 'Succeeded', 'Aborted'].map((p) => Type.Literal(p)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
