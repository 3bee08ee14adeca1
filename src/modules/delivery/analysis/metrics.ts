import type { Executor } from '../../../core/db/database.js';
import { type FieldIssue, notFound, validationFailed } from '../../../core/errors.js';
import { parseDuration } from '../../../core/resources/formats.js';
import type { Resources } from '../../../core/resources/resources.js';
import type { StartAnalysisInput } from '../contracts.js';
import { type JudgeCheck, type JudgeOptions, judgeOptions } from './judge.js';
import type { MetricLimits } from './phase.js';
import { ANALYSIS_TEMPLATE_KIND, BUILTIN_TEMPLATE, placeholderIssues, substitute } from './template.kind.js';
import type { AnalysisMetric, AnalysisTemplateSpec, RuntimeQuery } from './template.schema.js';

/** A metric as a run measures it: template defaults applied, arguments substituted. Stored with the run. */
export interface ResolvedMetric {
  name: string;
  /** The template it came from, or `builtin`. */
  template: string;
  intervalMs: number;
  initialDelayMs: number;
  limits: MetricLimits;
  successCondition?: string;
  failureCondition?: string;
  /** What conditions read as `args`. */
  args: Record<string, string>;
  provider:
    | { type: 'runtime'; query: RuntimeQuery; version: string; windowMs: number }
    | { type: 'promql'; query: string; metricsProvider?: string }
    | { type: 'judge'; options: JudgeOptions; canary: string; stable: string; critical: boolean };
}

export const DEFAULT_RUNTIME_WINDOW_MS = 60_000;

/** The built-in judge's schedule: every 5 s; blocking runs take 24 measurements (2 minutes, seed 001). */
export const BUILTIN = {
  intervalMs: 5_000,
  count: 24,
  /** Background runs: 60 measurements (5 minutes) without enough traffic make the run Inconclusive. */
  backgroundNoDataLimit: 60,
  /** Latency is not critical: a High verdict must be seen twice. */
  latencyFailureLimit: 1,
} as const;

/** Arguments `templates: 'builtin'` takes from StartAnalysisInput.args. */
export const BUILTIN_ARG_NAMES = ['interval', 'count', 'minRequests', 'noDataLimit'] as const;

function bad(pointer: string, message: string): never {
  throw validationFailed(`${pointer}: ${message}`, [{ pointer, message }]);
}

function positiveInt(value: string | undefined, pointer: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) bad(pointer, `must be a non-negative integer (got '${value}')`);
  return n;
}

/** The built-in judge as metrics: a critical error-ratio check and a latency check. */
export function builtinMetrics(input: Pick<StartAnalysisInput, 'mode' | 'canary' | 'stable' | 'args'>): ResolvedMetric[] {
  const args = input.args ?? {};
  const interval = args.interval === undefined ? BUILTIN.intervalMs : parseDuration(args.interval);
  if (interval === undefined || interval < 1000)
    bad('/args/interval', `must be a duration of at least 1s such as '5s' (got '${args.interval}')`);
  const blocking = input.mode !== 'background';
  const count = positiveInt(args.count, '/args/count') ?? (blocking ? BUILTIN.count : undefined);
  const minRequests = positiveInt(args.minRequests, '/args/minRequests');
  const noDataLimit = positiveInt(args.noDataLimit, '/args/noDataLimit') ?? (blocking ? undefined : BUILTIN.backgroundNoDataLimit);
  const judged = (name: string, check: JudgeCheck, failureLimit: number): ResolvedMetric => ({
    name,
    template: BUILTIN_TEMPLATE,
    intervalMs: interval,
    args: {},
    initialDelayMs: 0,
    limits: { count: count || undefined, failureLimit, consecutiveErrorLimit: 4, inconclusiveLimit: 0, noDataLimit, dryRun: false },
    provider: {
      type: 'judge',
      options: judgeOptions(check, minRequests === undefined ? {} : { minRequests }),
      canary: input.canary,
      stable: input.stable,
      critical: check === 'errorRatio',
    },
  });
  return [judged('error-ratio', 'errorRatio', 0), judged('latency', 'latency', BUILTIN.latencyFailureLimit)];
}

/** Template defaults, then the run's built-ins, then the caller's arguments; a declared argument without a value must be given. */
export function resolveArgs(template: { name: string; spec: AnalysisTemplateSpec }, input: StartAnalysisInput): Record<string, string> {
  const args: Record<string, string> = {};
  for (const arg of template.spec.args ?? []) if (arg.value !== undefined) args[arg.name] = arg.value;
  Object.assign(args, { canary: input.canary, stable: input.stable, service: input.service, rollout: input.rolloutId }, input.args ?? {});
  const missing = (template.spec.args ?? []).filter((a) => !Object.hasOwn(args, a.name)).map((a) => a.name);
  if (missing.length) {
    const issues: FieldIssue[] = missing.map((name) => ({
      pointer: `/args/${name}`,
      message: `AnalysisTemplate '${template.name}' needs argument '${name}'`,
    }));
    throw validationFailed(`AnalysisTemplate '${template.name}' needs argument(s) ${missing.join(', ')}`, issues);
  }
  return args;
}

function resolveText(text: string, args: Record<string, string>, pointer: string): string {
  const known = new Set(Object.keys(args));
  const [problem] = placeholderIssues(text, known);
  if (problem) bad(pointer, problem);
  return substitute(text, args);
}

/** One template metric with its arguments substituted. */
export function resolveMetric(template: string, metric: AnalysisMetric, args: Record<string, string>): ResolvedMetric {
  const at = `/templates/${template}/metrics/${metric.name}`;
  const base = {
    name: metric.name,
    template,
    args,
    intervalMs: parseDuration(metric.interval) ?? bad(`${at}/interval`, 'must be a duration'),
    initialDelayMs: metric.initialDelay === undefined ? 0 : (parseDuration(metric.initialDelay) ?? 0),
    ...(metric.successCondition === undefined ? {} : { successCondition: metric.successCondition }),
    ...(metric.failureCondition === undefined ? {} : { failureCondition: metric.failureCondition }),
  };
  if (base.intervalMs < 1000) bad(`${at}/interval`, 'must be at least 1s');
  const limits: MetricLimits = {
    count: metric.count,
    failureLimit: metric.failureLimit ?? 0,
    consecutiveErrorLimit: metric.consecutiveErrorLimit ?? 4,
    inconclusiveLimit: metric.inconclusiveLimit ?? 0,
    dryRun: metric.dryRun ?? false,
  };
  const { runtime, judge } = metric.provider;
  if (runtime) {
    const p = runtime;
    return {
      ...base,
      limits,
      provider: {
        type: 'runtime',
        query: p.query,
        version: resolveText(p.version ?? '{{args.canary}}', args, `${at}/provider/runtime/version`),
        windowMs: p.window === undefined ? DEFAULT_RUNTIME_WINDOW_MS : (parseDuration(p.window) ?? DEFAULT_RUNTIME_WINDOW_MS),
      },
    };
  }
  if (metric.provider.promql) {
    const p = metric.provider.promql;
    return {
      ...base,
      limits,
      provider: {
        type: 'promql',
        query: resolveText(p.query, args, `${at}/provider/promql/query`),
        ...(p.metricsProvider ? { metricsProvider: p.metricsProvider } : {}),
      },
    };
  }
  if (!judge) bad(`${at}/provider`, "must name one provider: 'runtime', 'judge' or 'promql'");
  const { check, canary, stable, critical, noDataLimit, ...given } = judge;
  const isCritical = critical ?? check === 'errorRatio';
  return {
    ...base,
    // A critical check fails the run on its first High verdict, whatever the failure limit says.
    limits: { ...limits, failureLimit: isCritical ? 0 : limits.failureLimit, ...(noDataLimit === undefined ? {} : { noDataLimit }) },
    provider: {
      type: 'judge',
      options: judgeOptions(check, given),
      canary: resolveText(canary ?? '{{args.canary}}', args, `${at}/provider/judge/canary`),
      stable: resolveText(stable ?? '{{args.stable}}', args, `${at}/provider/judge/stable`),
      critical: isCritical,
    },
  };
}

/** Every metric a run will measure, from named templates (and/or `builtin`); metric names must be unique. */
export async function resolveMetrics(
  resources: Resources,
  input: StartAnalysisInput,
  tx: Executor,
): Promise<{ metrics: ResolvedMetric[]; args: Record<string, string> }> {
  const names = input.templates === BUILTIN_TEMPLATE ? [BUILTIN_TEMPLATE] : input.templates;
  if (names.length === 0) bad('/templates', "names no template; use 'builtin' for the baseline judge");
  const metrics: ResolvedMetric[] = [];
  let allArgs: Record<string, string> = { canary: input.canary, stable: input.stable, service: input.service, rollout: input.rolloutId };
  for (const name of names) {
    if (name === BUILTIN_TEMPLATE) {
      metrics.push(...builtinMetrics(input));
      continue;
    }
    const stored = await resources.get<AnalysisTemplateSpec>(ANALYSIS_TEMPLATE_KIND, name, tx);
    if (!stored) {
      const known = (await resources.list(ANALYSIS_TEMPLATE_KIND, undefined, tx)).map((t) => t.metadata.name);
      throw notFound(`AnalysisTemplate '${name}' does not exist; known: ${[BUILTIN_TEMPLATE, ...known].join(', ')}`, {
        template: name,
        known,
      });
    }
    const args = resolveArgs({ name, spec: stored.spec }, input);
    allArgs = { ...allArgs, ...args };
    for (const metric of stored.spec.metrics) metrics.push(resolveMetric(name, metric, args));
  }
  const seen = new Set<string>();
  for (const m of metrics) {
    if (seen.has(m.name))
      bad('/templates', `metric '${m.name}' appears in more than one template; metric names must be unique within a run`);
    seen.add(m.name);
  }
  return { metrics, args: allArgs };
}
