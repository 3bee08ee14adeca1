import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import type { FieldIssue } from '../../../core/errors.js';
import { NAME_PATTERN, strict } from '../../../core/resources/kinds.js';
import type { KindDefinition, Lookup, ResourceDocument } from '../../../core/resources/resources.js';
import { schemaIssues } from '../../../core/resources/schema-errors.js';
import { BUILTIN } from './plan.js';
import { BackgroundAnalysis, type DeliverySectionValue, STEP_TYPES, StrategySpec, type StrategySpecValue } from './rollouts.schema.js';

export const STRATEGY_KIND = 'RolloutStrategy';
/** The analysis part registers this kind; references to it are checked when it is installed. */
export const TEMPLATE_KIND = 'AnalysisTemplate';
/** The pipelines part registers this kind. */
export const PIPELINE_KIND = 'Pipeline';

const NAME = new RegExp(NAME_PATTERN);
let strategyCheck: TypeCheck<TSchema> | undefined;
let backgroundCheck: TypeCheck<TSchema> | undefined;

/** Schema issues of `value` against `schema`, with pointers under `at`. */
function issuesUnder(check: TypeCheck<TSchema>, value: unknown, at: string): FieldIssue[] {
  return schemaIssues(check, value).map((i) => ({ ...i, pointer: i.pointer === '/' ? at : `${at}${i.pointer}` }));
}

/** 0.1-percent grid, as traffic weights are stored. */
const onGrid = (percent: number) => Math.abs(Math.round(percent * 10) - percent * 10) < 1e-6;

export interface StrategyCheckOptions {
  lookup: Lookup;
  /** Whether a kind is installed (AnalysisTemplate comes with the analysis part). */
  hasKind(kind: string): boolean;
}

async function templateIssues(templates: string[], at: string, options: StrategyCheckOptions): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  if (templates.includes(BUILTIN) && templates.length > 1) {
    issues.push({ pointer: at, message: `'${BUILTIN}' (the baseline judge) runs alone; put other templates in their own analysis` });
    return issues;
  }
  if (!options.hasKind(TEMPLATE_KIND)) return issues;
  for (const [i, name] of templates.entries()) {
    if (name === BUILTIN) continue;
    if (!(await options.lookup(TEMPLATE_KIND, name))) {
      issues.push({ pointer: `${at}/${i}`, message: `${TEMPLATE_KIND} '${name}' does not exist` });
    }
  }
  return issues;
}

async function backgroundIssues(value: unknown, at: string, steps: number | undefined, options: StrategyCheckOptions) {
  if (value === undefined || value === 'none') return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ pointer: at, message: "must be 'none' or a mapping with templates (and args, startingStep)" }];
  }
  backgroundCheck ??= TypeCompiler.Compile(strict(BackgroundAnalysis));
  const found = issuesUnder(backgroundCheck, value, at);
  if (found.length) return found;
  const bg = value as BackgroundAnalysis;
  const issues = await templateIssues(bg.templates, `${at}/templates`, options);
  if (steps !== undefined && (bg.startingStep ?? 0) > steps) {
    issues.push({ pointer: `${at}/startingStep`, message: `must be at most the number of steps (${steps})` });
  }
  return issues;
}

/**
 * Checks of a strategy the schema cannot express: exactly one of canary/blueGreen/rolling, one
 * action per step, weights on the 0.1 % grid, analysis references. `at` points at the strategy.
 */
export async function strategyIssues(spec: StrategySpecValue, at: string, options: StrategyCheckOptions): Promise<FieldIssue[]> {
  const issues: FieldIssue[] = [];
  const kinds = (['canary', 'blueGreen', 'rolling'] as const).filter((k) => spec[k] !== undefined);
  if (kinds.length !== 1) {
    const message =
      kinds.length === 0
        ? 'must have one of canary, blueGreen or rolling'
        : `must have exactly one of canary, blueGreen or rolling (got ${kinds.join(' and ')})`;
    return [{ pointer: at || '/', message }];
  }
  if (spec.canary) {
    const c = spec.canary;
    for (const [i, step] of c.steps.entries()) {
      const p = `${at}/canary/steps/${i}`;
      const set = STEP_TYPES.filter((t) => step[t] !== undefined);
      if (set.length !== 1) {
        issues.push({
          pointer: p,
          message:
            set.length === 0
              ? `must have one of ${STEP_TYPES.join(', ')}`
              : `must have exactly one action per step (got ${set.join(' and ')}); split it into steps`,
        });
        continue;
      }
      if (step.setWeight !== undefined && !onGrid(step.setWeight)) {
        issues.push({ pointer: `${p}/setWeight`, message: `must be a percentage in steps of 0.1 (got ${step.setWeight})` });
      }
      if (step.setMirror && !onGrid(step.setMirror.percent)) {
        issues.push({ pointer: `${p}/setMirror/percent`, message: `must be a percentage in steps of 0.1 (got ${step.setMirror.percent})` });
      }
      if (step.setCanaryScale) {
        const s = step.setCanaryScale;
        const n = [s.instances !== undefined, s.percent !== undefined, s.matchTrafficWeight === true].filter(Boolean).length;
        if (n !== 1)
          issues.push({
            pointer: `${p}/setCanaryScale`,
            message: 'must have exactly one of instances, percent or matchTrafficWeight: true',
          });
      }
      if (step.analysis) issues.push(...(await templateIssues(step.analysis.templates, `${p}/analysis/templates`, options)));
    }
    issues.push(...(await backgroundIssues(c.analysis, `${at}/canary/analysis`, c.steps.length, options)));
  }
  if (spec.blueGreen) {
    const b = spec.blueGreen;
    if (b.autoPromotionEnabled === false && b.autoPromotionSeconds !== undefined) {
      issues.push({
        pointer: `${at}/blueGreen/autoPromotionSeconds`,
        message: 'has no effect with autoPromotionEnabled: false (the switch waits for promote)',
      });
    }
    if (b.prePromotionAnalysis) {
      issues.push(...(await templateIssues(b.prePromotionAnalysis.templates, `${at}/blueGreen/prePromotionAnalysis/templates`, options)));
    }
    if (b.postPromotionAnalysis) {
      issues.push(...(await templateIssues(b.postPromotionAnalysis.templates, `${at}/blueGreen/postPromotionAnalysis/templates`, options)));
    }
    issues.push(...(await backgroundIssues(b.analysis, `${at}/blueGreen/analysis`, undefined, options)));
  }
  if (spec.rolling) {
    const r = spec.rolling;
    const zero = (v: number | string | undefined) => v === 0 || v === '0%';
    if (zero(r.maxSurge) && zero(r.maxUnavailable)) {
      issues.push({ pointer: `${at}/rolling`, message: 'maxSurge and maxUnavailable cannot both be 0: nothing could ever be replaced' });
    }
  }
  return issues;
}

/** The `RolloutStrategy` kind: a named strategy services refer to from `spec.delivery.strategy`. */
export function rolloutStrategyKind(hasKind: (kind: string) => boolean): KindDefinition<StrategySpecValue> {
  return {
    kind: STRATEGY_KIND,
    module: 'delivery',
    description: 'How a new version replaces the running one: canary steps, blue-green, or rolling batches.',
    spec: StrategySpec,
    validate: (doc, lookup) => strategyIssues(doc.spec, '/spec', { lookup, hasKind }),
    columns: [
      { header: 'TYPE', value: (doc) => (doc.spec.canary ? 'canary' : doc.spec.blueGreen ? 'blueGreen' : 'rolling') },
      { header: 'STEPS', value: (doc) => String(doc.spec.canary?.steps.length ?? '-') },
    ],
  };
}

/** Checks of `Service.spec.delivery`: the strategy it names exists, or the inline one is valid. */
export async function deliverySectionIssues(
  doc: ResourceDocument,
  lookup: Lookup,
  hasKind: (kind: string) => boolean,
): Promise<FieldIssue[]> {
  const section = doc.spec.delivery as DeliverySectionValue | undefined;
  if (!section) return [];
  const issues: FieldIssue[] = [];
  const at = '/spec/delivery/strategy';
  if (section.pipeline !== undefined && hasKind(PIPELINE_KIND) && !(await lookup(PIPELINE_KIND, section.pipeline))) {
    issues.push({ pointer: '/spec/delivery/pipeline', message: `${PIPELINE_KIND} '${section.pipeline}' does not exist` });
  }
  const strategy: unknown = section.strategy;
  if (strategy !== undefined && section.preset !== undefined) {
    issues.push({ pointer: '/spec/delivery/preset', message: 'give either strategy or preset, not both' });
  }
  if (strategy === undefined) return issues;
  if (typeof strategy === 'string') {
    if (!NAME.test(strategy))
      issues.push({ pointer: at, message: `must be a ${STRATEGY_KIND} name or an inline strategy (got '${strategy}')` });
    else if (!(await lookup(STRATEGY_KIND, strategy)))
      issues.push({ pointer: at, message: `${STRATEGY_KIND} '${strategy}' does not exist` });
    return issues;
  }
  if (typeof strategy !== 'object' || strategy === null || Array.isArray(strategy)) {
    return [...issues, { pointer: at, message: `must be a ${STRATEGY_KIND} name or an inline strategy with canary, blueGreen or rolling` }];
  }
  strategyCheck ??= TypeCompiler.Compile(strict(StrategySpec));
  const found = issuesUnder(strategyCheck, strategy, at);
  if (found.length) return [...issues, ...found];
  return [...issues, ...(await strategyIssues(strategy as StrategySpecValue, at, { lookup, hasKind }))];
}
