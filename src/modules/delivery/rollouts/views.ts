import type { AnalysisRunView, RolloutSummary } from '../contracts.js';
import type { RolloutsContext } from './context.js';
import { describeStep } from './plan.js';
import { type FailingDecision, type LogEntry, type Rollout, type RolloutMeta, readLog } from './rollouts.store.js';

export interface RolloutStepView {
  /** 1-based, as people count. */
  number: number;
  type: string;
  description: string;
  status: 'done' | 'current' | 'pending';
}

export interface RolloutVersionView {
  version: string;
  role: 'stable' | 'canary' | 'other';
  weight: number;
  desiredInstances: number;
  readyInstances: number;
  health: string;
}

/** A rollout as `GET .../rollout` and `opsdeck rollout status -o json` show it. */
export interface RolloutView extends RolloutSummary {
  deployer: string;
  /** `preset fast`, `RolloutStrategy/careful`, `inline`, `undo`. */
  source: string;
  totalSteps: number;
  steps: RolloutStepView[];
  currentStep: string | null;
  pauseReason: string | null;
  /** A timed pause ends then. */
  pauseUntil: number | null;
  progressDeadlineAt: number | null;
  /** Live split from the runtime, percent by version (the last applied one if the runtime cannot answer). */
  weights: Record<string, number>;
  versions: RolloutVersionView[];
  headerRoute: { name?: string; header: string; value: string } | null;
  mirrorPercent: number | null;
  rollbackOf: string | null;
  commitTime: number | null;
  releaseCreatedAt: number | null;
  pipelineRunId: string | null;
  overrideFreeze: RolloutMeta['overrideFreeze'];
  /** The decision that aborted it, with its data. */
  decision: FailingDecision | null;
  /** Failing decision → the new version's weight at 0. */
  timeToWeightZeroMs: number | null;
  lastDecision: LogEntry | null;
  analysis: AnalysisRunView[];
  log: LogEntry[];
  updatedAt: number;
}

export function summaryOf(r: Rollout): RolloutSummary & { deployer: string; rollbackOf: string | null } {
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    stable: r.stable,
    strategy: r.strategy,
    phase: r.phase,
    step: r.step,
    reason: r.reason,
    startedAt: r.createdAt,
    finishedAt: r.finishedAt,
    deployer: r.deployer,
    rollbackOf: r.rollbackOf,
  };
}

export async function viewOf(ctx: RolloutsContext, r: Rollout): Promise<RolloutView> {
  const steps: RolloutStepView[] = r.plan.steps.map((s, i) => ({
    number: i + 1,
    type: s.type,
    description: describeStep(s, r.version),
    status: i < r.step ? 'done' : i === r.step && r.active ? 'current' : 'pending',
  }));
  let versions: RolloutVersionView[] = [];
  let weights: Record<string, number> = r.state.weights;
  try {
    const live = await ctx.runtime.listVersions(r.service);
    versions = live
      .filter((v) => v.version === r.version || v.version === r.stable || v.weight > 0 || v.desiredInstances > 0)
      .map((v) => ({
        version: v.version,
        role: v.version === r.version ? 'canary' : v.version === r.stable ? 'stable' : 'other',
        weight: v.weight,
        desiredInstances: v.desiredInstances,
        readyInstances: v.readyInstances,
        health: v.health,
      }));
    weights = Object.fromEntries(live.filter((v) => v.weight > 0).map((v) => [v.version, v.weight]));
  } catch {
    // The service or its runtime section is gone: show what the rollout last applied.
  }
  const [analysis, log] = await Promise.all([ctx.analysis.forRollout(r.id), readLog(ctx.core.db, r.id)]);
  const { state } = r;
  return {
    ...summaryOf(r),
    source: r.plan.source,
    totalSteps: r.plan.steps.length,
    steps,
    currentStep: r.active && r.step < r.plan.steps.length ? describeStep(r.plan.steps[r.step]!, r.version) : null,
    pauseReason: r.pauseReason,
    pauseUntil: state.stepState.pauseUntil ?? null,
    progressDeadlineAt: r.progressDeadlineAt,
    weights,
    versions,
    headerRoute: state.headerRoute,
    mirrorPercent: state.mirror,
    commitTime: r.meta.commitTime,
    releaseCreatedAt: r.meta.releaseCreatedAt,
    pipelineRunId: r.meta.pipelineRunId,
    overrideFreeze: r.meta.overrideFreeze,
    decision: state.decision,
    timeToWeightZeroMs: state.weightZeroAt !== null && state.decisionAt !== null ? state.weightZeroAt - state.decisionAt : null,
    lastDecision: log.at(-1) ?? null,
    analysis,
    log,
    updatedAt: r.updatedAt,
  };
}
