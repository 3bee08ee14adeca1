import type { FieldIssue } from '../../../core/errors.js';
import type { KindDefinition, ResourceDocument } from '../../../core/resources/resources.js';
import { checkPromql } from '../../telemetry/index.js';
import { compileCondition } from './evaluate.js';
import { ParseError } from './expression.js';
import { type AnalysisTemplateSpec, AnalysisTemplateSpec as AnalysisTemplateSpecSchema, BUILTIN_ARGS } from './template.schema.js';

export const ANALYSIS_TEMPLATE_KIND = 'AnalysisTemplate';
/** The name that means the built-in baseline judge; no template may take it. */
export const BUILTIN_TEMPLATE = 'builtin';

const PLACEHOLDER = /\{\{\s*args\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Replaces `{{args.name}}` placeholders; undefined names are left for `placeholderIssues` to report. */
export function substitute(text: string, args: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(args, name) ? args[name]! : whole));
}

/** Placeholders naming unknown arguments, and `{{` that is not a placeholder. */
export function placeholderIssues(text: string, known: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const [, name] of text.matchAll(PLACEHOLDER)) {
    if (!known.has(name!)) problems.push(`no argument '${name}' for '{{args.${name}}}'; known: ${[...known].sort().join(', ')}`);
  }
  if (text.replace(PLACEHOLDER, '').includes('{{')) problems.push("'{{' starts a placeholder, which must be '{{args.NAME}}'");
  return problems;
}

/** Declared and built-in argument names of a template. */
export function argNamesOf(spec: AnalysisTemplateSpec): Set<string> {
  return new Set([...BUILTIN_ARGS, ...(spec.args ?? []).map((a) => a.name)]);
}

/** Checks the schema cannot express: conditions parse (at apply, not at run time), names and placeholders resolve. */
export function templateIssues(doc: ResourceDocument<AnalysisTemplateSpec>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { spec } = doc;
  if (doc.metadata.name === BUILTIN_TEMPLATE) {
    issues.push({ pointer: '/metadata/name', message: `'${BUILTIN_TEMPLATE}' names the built-in judge; choose another name` });
  }
  const seenArgs = new Set<string>();
  (spec.args ?? []).forEach((arg, i) => {
    if (seenArgs.has(arg.name)) issues.push({ pointer: `/spec/args/${i}/name`, message: `duplicate argument '${arg.name}'` });
    seenArgs.add(arg.name);
  });
  const known = argNamesOf(spec);
  const seenMetrics = new Set<string>();
  spec.metrics.forEach((metric, i) => {
    const at = `/spec/metrics/${i}`;
    if (seenMetrics.has(metric.name)) issues.push({ pointer: `${at}/name`, message: `duplicate metric '${metric.name}'` });
    seenMetrics.add(metric.name);
    for (const field of ['successCondition', 'failureCondition'] as const) {
      const source = metric[field];
      if (source === undefined) continue;
      if (metric.provider.judge) {
        issues.push({ pointer: `${at}/${field}`, message: 'a judge metric decides by its own statistics; remove the condition' });
        continue;
      }
      try {
        compileCondition(source, known);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        issues.push({ pointer: `${at}/${field}`, message: `does not parse: ${err.message}` });
      }
    }
    const { runtime, judge, promql } = metric.provider;
    if ([runtime, judge, promql].filter(Boolean).length !== 1) {
      issues.push({ pointer: `${at}/provider`, message: "must name exactly one provider: 'runtime', 'judge' or 'promql'" });
    }
    if (promql) {
      // Placeholders stand for label values; with them filled in, the query must parse for the built-in store.
      const problem = promql.metricsProvider ? undefined : checkPromql(promql.query.replace(/\{\{[^}]*\}\}/g, 'x'));
      if (problem) issues.push({ pointer: `${at}/provider/promql/query`, message: problem.message });
    }
    const refs: [string, string | undefined][] = [
      ['runtime/version', runtime?.version],
      ['judge/canary', judge?.canary],
      ['judge/stable', judge?.stable],
      ['promql/query', promql?.query],
    ];
    for (const [path, value] of refs) {
      if (value === undefined) continue;
      for (const message of placeholderIssues(value, known)) issues.push({ pointer: `${at}/provider/${path}`, message });
    }
  });
  return issues;
}

/**
 * `AnalysisTemplate`: metrics measured during a rollout step (or the whole rollout) with Argo
 * Rollouts' semantics, from the runtime's per-version traffic or the built-in baseline judge.
 * Registered by the delivery module.
 */
export const analysisTemplateKind: KindDefinition<AnalysisTemplateSpec> = {
  kind: ANALYSIS_TEMPLATE_KIND,
  module: 'delivery',
  description: 'Metrics, conditions and limits that decide whether a canary may proceed.',
  spec: AnalysisTemplateSpecSchema,
  validate: (doc) => templateIssues(doc),
  columns: [
    { header: 'METRICS', value: (doc) => doc.spec.metrics.map((m) => m.name).join(',') },
    { header: 'ARGS', value: (doc) => (doc.spec.args ?? []).map((a) => a.name).join(',') || '<none>' },
  ],
};
