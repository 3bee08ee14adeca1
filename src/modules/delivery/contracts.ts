import type { Actor } from '../../core/auth/roles.js';
import type { Executor } from '../../core/db/database.js';
import type { Logger } from '../../core/logger.js';
import type { Core, RouteDefinition } from '../../core/module.js';
import type { CatalogApi } from '../catalog/index.js';
import type { RuntimeApi } from '../runtime/index.js';
import type { TelemetryApi } from '../telemetry/index.js';

/**
 * The delivery module's internal contracts: analysis (analysis/), rollouts (rollouts/), and
 * pipelines, freezes and DORA (pipelines/, freezes/, dora/) are built against these.
 */
export interface DeliveryContext {
  core: Core;
  catalog: CatalogApi;
  runtime: RuntimeApi;
  /** PromQL for analysis metrics (provider.promql). */
  telemetry: TelemetryApi;
  logger: Logger;
  /** Routes collected from the parts; index.ts registers them. */
  route(definition: RouteDefinition): void;
}

// ---- analysis ----

export type AnalysisPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/** One measurement or judgement, stored with the data it was made from, explained in one sentence. */
export interface Decision {
  at: number;
  metric: string;
  verdict: 'Successful' | 'Failed' | 'Inconclusive' | 'Error' | 'Pass' | 'High' | 'Low' | 'NoData';
  /** The values compared, e.g. { canaryErrorRatio: 0.06, stableErrorRatio: 0.01 }. */
  values: Record<string, number | string | null>;
  /** Sample sizes, e.g. { canary: 812, stable: 7304 }. */
  samples?: Record<string, number>;
  /** Test statistic and its name, e.g. { name: 'mSPRT log-likelihood ratio', value: 4.1 }. */
  statistic?: { name: string; value: number };
  /** Confidence interval of the effect, when the test gives one. */
  interval?: [number, number];
  threshold?: string;
  reason: string;
}

export interface AnalysisRunView {
  id: string;
  rolloutId: string;
  service: string;
  canary: string;
  stable: string;
  /** `inline` blocks a step; `background` runs for the whole rollout; `prePromotion`/`postPromotion` for blue-green. */
  mode: 'inline' | 'background' | 'prePromotion' | 'postPromotion';
  step: number | null;
  phase: AnalysisPhase;
  reason: string | null;
  startedAt: number;
  finishedAt: number | null;
  decisions: Decision[];
}

export interface StartAnalysisInput {
  rolloutId: string;
  service: string;
  canary: string;
  stable: string;
  mode: AnalysisRunView['mode'];
  step?: number;
  /** AnalysisTemplate names, or 'builtin' for the baseline judge. */
  templates: string[] | 'builtin';
  args?: Record<string, string>;
}

export interface AnalysisService {
  /** Creates the run and schedules its first measurement (a durable job) in the caller's transaction. */
  start(input: StartAnalysisInput, tx: Executor): Promise<AnalysisRunView>;
  /** Stops a running analysis (rollout aborted, promoted, or step left); no further measurements. */
  terminate(runId: string, reason: string, tx: Executor): Promise<void>;
  get(runId: string): Promise<AnalysisRunView | undefined>;
  forRollout(rolloutId: string): Promise<AnalysisRunView[]>;
}

/** Published (change: false) when a run reaches a final phase; rollouts subscribe to it. */
export const ANALYSIS_COMPLETED = 'delivery.analysis.completed';
export interface AnalysisCompleted {
  runId: string;
  rolloutId: string;
  phase: Exclude<AnalysisPhase, 'Running'>;
  reason: string;
}

// ---- freezes ----

export interface ActiveFreeze {
  /** Freeze resource name, or `incident:INC-12` for freezes other modules set through the API. */
  name: string;
  reason: string;
  until: number | null;
}

export interface FreezeService {
  /** The freezes that apply to this service at `at` (empty: not frozen). */
  active(service: string, at: number, tx?: Executor): Promise<ActiveFreeze[]>;
  /** Another module (incidents) freezes a service, or everything with service '*', until lifted. */
  freeze(input: { key: string; service: string; reason: string; actor: Actor }, tx?: Executor): Promise<void>;
  lift(key: string, actor: Actor, tx?: Executor): Promise<void>;
}

// ---- rollouts ----

export type RolloutPhase = 'Progressing' | 'Paused' | 'Succeeded' | 'Aborted';

export interface StartRolloutInput {
  service: string;
  version: string;
  actor: Actor;
  /** Given when the deployer overrides an active freeze; recorded in the audit log. */
  overrideFreeze?: { reason: string };
  commitTime?: number;
  pipelineRunId?: string;
}

export interface RolloutSummary {
  id: string;
  service: string;
  version: string;
  stable: string | null;
  strategy: 'canary' | 'blueGreen' | 'rolling';
  phase: RolloutPhase;
  step: number;
  reason: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface RolloutService {
  start(input: StartRolloutInput): Promise<RolloutSummary>;
  get(id: string): Promise<RolloutSummary | undefined>;
  active(service: string): Promise<RolloutSummary | undefined>;
  /** Pause every in-flight rollout of a service (a freeze began); resumes are manual or on lift. */
  pauseForFreeze(service: string, reason: string, tx?: Executor): Promise<void>;
}

/** Final rollout events pipelines and DORA listen to. */
export const ROLLOUT_SUCCEEDED = 'delivery.rollout.succeeded';
export const ROLLOUT_ABORTED = 'delivery.rollout.aborted';
