import { parseDuration } from '../../../core/resources/formats.js';
import type { StartAnalysisInput } from '../contracts.js';
import type { AnalysisRef, BackgroundAnalysis, StrategySpecValue } from './rollouts.schema.js';

/** The built-in baseline judge's name where templates are named. */
export const BUILTIN = 'builtin';
/** The header the router pins a version with. */
export const VERSION_HEADER = 'x-opsdeck-version';

export type AnalysisTemplates = StartAnalysisInput['templates'];

/** One step of a rollout as the engine runs it; blue-green and rolling are expressed in the same steps. */
export type PlanStep =
  | { type: 'setWeight'; weight: number }
  | { type: 'pause'; durationMs: number | null }
  | {
      type: 'analysis';
      mode: 'inline' | 'prePromotion' | 'postPromotion';
      templates: AnalysisTemplates;
      args?: Record<string, string>;
    }
  | { type: 'setHeaderRoute'; name?: string }
  | { type: 'setMirror'; percent: number }
  | { type: 'setCanaryScale'; instances?: number; percent?: number; matchTrafficWeight?: boolean }
  /** Blue-green: the new version at full size and ready, with no traffic. */
  | { type: 'scaleUp' }
  /** Blue-green: all traffic to the new version at once. */
  | { type: 'switch' }
  /** Rolling: instances replaced in batches, traffic following ready instances. */
  | { type: 'rolling'; maxSurge: number | string; maxUnavailable: number | string };

export type StrategyKind = 'canary' | 'blueGreen' | 'rolling';

/** The strategy snapshot a rollout runs: taken at deploy, so editing the strategy never changes a running rollout. */
export interface RolloutPlan {
  strategy: StrategyKind;
  /** Where it came from: `preset fast`, `RolloutStrategy/careful`, `inline`, `undo`. */
  source: string;
  steps: PlanStep[];
  background: { templates: AnalysisTemplates; args?: Record<string, string>; startingStep: number } | null;
  progressDeadlineMs: number;
  abortScaleDownDelayMs: number;
  /** How long the replaced version keeps its instances after success (blue-green's rollback window). */
  scaleDownDelayMs: number;
  spec: StrategySpecValue;
}

export const DEFAULT_PROGRESS_DEADLINE_S = 600;
export const DEFAULT_SCALE_DOWN_DELAY_S = 30;

const templatesOf = (names: string[]): AnalysisTemplates => (names.length === 1 && names[0] === BUILTIN ? BUILTIN : names);

function background(analysis: 'none' | BackgroundAnalysis | undefined): RolloutPlan['background'] {
  if (analysis === 'none') return null;
  if (!analysis) return { templates: BUILTIN, startingStep: 0 };
  return { templates: templatesOf(analysis.templates), args: analysis.args, startingStep: analysis.startingStep ?? 0 };
}

function analysisStep(ref: AnalysisRef, mode: 'inline' | 'prePromotion' | 'postPromotion'): PlanStep {
  return { type: 'analysis', mode, templates: templatesOf(ref.templates), ...(ref.args ? { args: ref.args } : {}) };
}

/** A validated strategy spec → the steps the engine runs. */
export function buildPlan(spec: StrategySpecValue, source: string): RolloutPlan {
  if (spec.canary) {
    const c = spec.canary;
    const steps: PlanStep[] = c.steps.map((s): PlanStep => {
      if (s.setWeight !== undefined) return { type: 'setWeight', weight: s.setWeight };
      if (s.pause) return { type: 'pause', durationMs: s.pause.duration ? (parseDuration(s.pause.duration) ?? 0) : null };
      if (s.analysis) return analysisStep(s.analysis, 'inline');
      if (s.setHeaderRoute) return { type: 'setHeaderRoute', ...(s.setHeaderRoute.name ? { name: s.setHeaderRoute.name } : {}) };
      if (s.setMirror) return { type: 'setMirror', percent: s.setMirror.percent };
      return { type: 'setCanaryScale', ...s.setCanaryScale };
    });
    return {
      strategy: 'canary',
      source,
      steps,
      background: background(c.analysis),
      progressDeadlineMs: (c.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_S) * 1000,
      abortScaleDownDelayMs: (c.abortScaleDownDelaySeconds ?? 0) * 1000,
      scaleDownDelayMs: 0,
      spec,
    };
  }
  if (spec.blueGreen) {
    const b = spec.blueGreen;
    const steps: PlanStep[] = [{ type: 'scaleUp' }];
    if (b.previewHeader !== false) steps.push({ type: 'setHeaderRoute', name: 'preview' });
    if (b.prePromotionAnalysis) steps.push(analysisStep(b.prePromotionAnalysis, 'prePromotion'));
    if (b.autoPromotionEnabled === false) steps.push({ type: 'pause', durationMs: null });
    else if (b.autoPromotionSeconds) steps.push({ type: 'pause', durationMs: b.autoPromotionSeconds * 1000 });
    steps.push({ type: 'switch' });
    if (b.postPromotionAnalysis) steps.push(analysisStep(b.postPromotionAnalysis, 'postPromotion'));
    return {
      strategy: 'blueGreen',
      source,
      steps,
      background: background(b.analysis),
      progressDeadlineMs: (b.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_S) * 1000,
      abortScaleDownDelayMs: (b.abortScaleDownDelaySeconds ?? 0) * 1000,
      scaleDownDelayMs: (b.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_S) * 1000,
      spec,
    };
  }
  const r = spec.rolling ?? {};
  return {
    strategy: 'rolling',
    source,
    steps: [{ type: 'rolling', maxSurge: r.maxSurge ?? '25%', maxUnavailable: r.maxUnavailable ?? '25%' }],
    background: null,
    progressDeadlineMs: (r.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_S) * 1000,
    abortScaleDownDelayMs: 0,
    scaleDownDelayMs: 0,
    spec,
  };
}

/** The fast path of `undo`: the previous version at full size, then all traffic to it; no analysis. */
export function undoPlan(): RolloutPlan {
  return {
    strategy: 'canary',
    source: 'undo',
    steps: [],
    background: null,
    progressDeadlineMs: DEFAULT_PROGRESS_DEADLINE_S * 1000,
    abortScaleDownDelayMs: 0,
    scaleDownDelayMs: 0,
    spec: { canary: { steps: [], analysis: 'none' } },
  };
}

/** The canary weight in force when step `index` runs: the last weight set before it. */
export function weightBefore(plan: RolloutPlan, index: number): number {
  let weight = 0;
  for (const step of plan.steps.slice(0, index)) {
    if (step.type === 'setWeight') weight = step.weight;
    else if (step.type === 'switch') weight = 100;
  }
  return weight;
}

/** Percent on the 0.1 grid, as the runtime wants it. */
export const tenthRound = (percent: number) => Math.round(percent * 10) / 10;

/** `maxSurge`/`maxUnavailable` of `total` instances: percentages round up for surge and down for unavailable, as in Kubernetes. */
export function instancesOf(value: number | string, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.replace('%', ''));
  const exact = (total * percent) / 100;
  return round === 'up' ? Math.ceil(exact - 1e-9) : Math.floor(exact + 1e-9);
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const templateNames = (t: AnalysisTemplates) => (t === BUILTIN ? 'built-in judge' : t.join(', '));

/** One line per step, as status shows it. */
export function describeStep(step: PlanStep, version?: string): string {
  switch (step.type) {
    case 'setWeight':
      return `setWeight ${step.weight}%`;
    case 'pause':
      return step.durationMs === null ? 'pause until promoted' : `pause ${formatMs(step.durationMs)}`;
    case 'analysis':
      return `${step.mode === 'inline' ? 'analysis' : `${step.mode} analysis`} (${templateNames(step.templates)})`;
    case 'setHeaderRoute':
      return `header route ${VERSION_HEADER}: ${version ?? 'the new version'}${step.name ? ` (${step.name})` : ''}`;
    case 'setMirror':
      return step.percent > 0 ? `mirror ${step.percent}% of requests` : 'stop mirroring';
    case 'setCanaryScale':
      if (step.matchTrafficWeight) return 'canary scale follows its weight';
      return step.instances !== undefined ? `canary scale ${step.instances} instances` : `canary scale ${step.percent}% of full size`;
    case 'scaleUp':
      return `scale ${version ?? 'the new version'} to full size`;
    case 'switch':
      return `switch all traffic to ${version ?? 'the new version'}`;
    case 'rolling':
      return `replace instances in batches (maxSurge ${step.maxSurge}, maxUnavailable ${step.maxUnavailable})`;
  }
}

export { formatMs };
