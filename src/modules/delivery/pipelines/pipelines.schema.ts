import { type Static, Type } from '@sinclair/typebox';
import { HUMAN_ROLES } from '../../../core/auth/roles.js';
import { NAME_PATTERN } from '../../../core/resources/kinds.js';

const ENV_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
const NoNul = (max: number, min = 0) => Type.String({ minLength: min, maxLength: max, pattern: min ? '^[^\\u0000]+$' : '^[^\\u0000]*$' });

/** A command in the release's artifact directory (tests, a build): spawned without a shell. */
export const RunStage = Type.Object({
  command: NoNul(4096, 1),
  args: Type.Optional(Type.Array(NoNul(4096), { maxItems: 256 })),
  /** Relative to the release's artifact directory (its working directory), which is the default. */
  cwd: Type.Optional(NoNul(4096, 1)),
  env: Type.Optional(Type.Record(Type.String({ pattern: ENV_KEY_PATTERN }), NoNul(32_768), { additionalProperties: false })),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 21_600 }),
});
export type RunStage = Static<typeof RunStage>;

export const SmokeCheck = Type.Object({
  path: Type.String({ pattern: '^/', maxLength: 2048, errorMessage: "must be a path starting with '/'" }),
  expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, default: 200 })),
  /** A substring the response body must contain. */
  expectBody: Type.Optional(Type.String({ maxLength: 4096 })),
  timeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 60, default: 5 })),
});
export type SmokeCheck = Static<typeof SmokeCheck>;

export const LoadTest = Type.Object({
  path: Type.Optional(Type.String({ pattern: '^/', maxLength: 2048, default: '/' })),
  connections: Type.Integer({ minimum: 1, maximum: 1000 }),
  durationSeconds: Type.Integer({ minimum: 1, maximum: 600 }),
  /** (5xx + connection errors + timeouts) / requests must stay at or below this. */
  maxErrorRatio: Type.Number({ minimum: 0, maximum: 1 }),
  maxP99Ms: Type.Number({ minimum: 1, maximum: 600_000 }),
});
export type LoadTest = Static<typeof LoadTest>;

/** Deploy the version to `<service>-staging` on its own port, then smoke checks and a load test. */
export const StagingStage = Type.Object({
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  instances: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 1 })),
  readyTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, default: 120 })),
  smoke: Type.Array(SmokeCheck, { maxItems: 100 }),
  loadTest: Type.Optional(LoadTest),
});
export type StagingStage = Static<typeof StagingStage>;

/** A manual gate: someone with `role` approves through the API within the timeout, or the run fails. */
export const ApprovalStage = Type.Object({
  role: Type.Optional(
    Type.Union(
      HUMAN_ROLES.map((r) => Type.Literal(r)),
      { default: 'deployer' },
    ),
  ),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 30 * 86_400 }),
});
export type ApprovalStage = Static<typeof ApprovalStage>;

/** The rollout: the service's strategy, through the rollouts part. */
export const ProductionStage = Type.Object({});

export const StageSpec = Type.Object({
  name: Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: "must be a stage name such as 'test' or 'build'" }),
  run: Type.Optional(RunStage),
  staging: Type.Optional(StagingStage),
  approval: Type.Optional(ApprovalStage),
  production: Type.Optional(ProductionStage),
});
export type StageSpec = Static<typeof StageSpec>;

export const STAGE_TYPES = ['run', 'staging', 'approval', 'production'] as const;
export type StageType = (typeof STAGE_TYPES)[number];

export const PipelineSpec = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    stages: Type.Array(StageSpec, { minItems: 1, maxItems: 50 }),
  },
  { description: 'Stages a version goes through before and into production: run, staging, approval, production' },
);
export type PipelineSpec = Static<typeof PipelineSpec>;

export function stageType(stage: StageSpec): StageType {
  return STAGE_TYPES.find((t) => stage[t] !== undefined)!;
}

const VersionName = Type.String({ pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$' });

export const StartRunBody = Type.Object(
  {
    version: VersionName,
    /** When the change was committed (ISO-8601 or epoch ms): lead time is measured from it. */
    commitTime: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64 })])),
    /** Run this Pipeline instead of the one the Service names in spec.delivery.pipeline. */
    pipeline: Type.Optional(Type.String({ pattern: NAME_PATTERN, maxLength: 63 })),
    /** Passed on to the production stage's rollout when a freeze is in force; recorded in the audit log. */
    overrideFreeze: Type.Optional(Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type StartRunBody = Static<typeof StartRunBody>;

export const RunParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const ServiceParams = Type.Object({ name: Type.String({ maxLength: 63 }) });

export const LogsQuery = Type.Object(
  {
    stage: Type.Optional(Type.String({ maxLength: 63 })),
    afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

export const ListRunsQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);

export const CancelBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false });
