import { describe, expect, it } from 'vitest';
import type { ResourceDocument } from '../../../core/resources/resources.js';
import type { StartAnalysisInput } from '../contracts.js';
import { builtinMetrics, resolveArgs, resolveMetric } from './metrics.js';
import { placeholderIssues, substitute, templateIssues } from './template.kind.js';
import type { AnalysisTemplateSpec } from './template.schema.js';

const doc = (spec: AnalysisTemplateSpec, name = 'error-rate'): ResourceDocument<AnalysisTemplateSpec> => ({
  apiVersion: 'opsdeck.dev/v1',
  kind: 'AnalysisTemplate',
  metadata: { name },
  spec,
});

const input: StartAnalysisInput = {
  rolloutId: 'rol_1',
  service: 'feed',
  canary: '1.1.0',
  stable: '1.0.0',
  mode: 'inline',
  templates: ['error-rate'],
};

describe('AnalysisTemplate validation', () => {
  it('refuses conditions that do not parse, naming the field and the column', () => {
    const issues = templateIssues(
      doc({
        metrics: [
          { name: 'errors', interval: '30s', successCondition: 'result = 0', provider: { runtime: { query: 'errorRatio' } } },
          {
            name: 'p99',
            interval: '30s',
            failureCondition: 'result > args.limit',
            provider: { runtime: { query: 'p99', version: '{{args.canry}}' } },
          },
          { name: 'p99', interval: '30s', successCondition: 'result < 1', provider: { judge: { check: 'latency' } } },
        ],
      }),
    );
    expect(issues).toEqual([
      { pointer: '/spec/metrics/0/successCondition', message: "does not parse: '=' is not an operator; compare with '==' at column 8" },
      {
        pointer: '/spec/metrics/1/failureCondition',
        message: "does not parse: no argument 'limit'; known: canary, rollout, service, stable at column 15",
      },
      {
        pointer: '/spec/metrics/1/provider/runtime/version',
        message: "no argument 'canry' for '{{args.canry}}'; known: canary, rollout, service, stable",
      },
      { pointer: '/spec/metrics/2/name', message: "duplicate metric 'p99'" },
      { pointer: '/spec/metrics/2/successCondition', message: 'a judge metric decides by its own statistics; remove the condition' },
    ]);
  });

  it('accepts declared arguments, and refuses duplicates and the reserved name', () => {
    const spec: AnalysisTemplateSpec = {
      args: [{ name: 'limit', value: '0.01' }, { name: 'limit' }],
      metrics: [
        {
          name: 'errors',
          interval: '30s',
          successCondition: 'result < number(args.limit)',
          provider: { runtime: { query: 'errorRatio' } },
        },
      ],
    };
    expect(templateIssues(doc(spec))).toEqual([{ pointer: '/spec/args/1/name', message: "duplicate argument 'limit'" }]);
    expect(templateIssues(doc({ metrics: spec.metrics }, 'builtin'))[0]?.pointer).toBe('/metadata/name');
  });

  it('substitutes {{args.x}} placeholders and reports unknown or malformed ones', () => {
    expect(substitute('{{ args.canary }}-{{args.stable}}', { canary: 'a', stable: 'b' })).toBe('a-b');
    expect(placeholderIssues('{{args.x}}', new Set(['y']))).toEqual(["no argument 'x' for '{{args.x}}'; known: y"]);
    expect(placeholderIssues('{{ canary }}', new Set(['canary']))).toEqual(["'{{' starts a placeholder, which must be '{{args.NAME}}'"]);
  });
});

describe('resolving metrics for a run', () => {
  it('fills defaults and arguments; the caller overrides template defaults; a missing argument is a 400', () => {
    const spec: AnalysisTemplateSpec = {
      args: [{ name: 'limit', value: '0.01' }, { name: 'region' }],
      metrics: [
        {
          name: 'errors',
          interval: '30s',
          count: 4,
          successCondition: 'result < number(args.limit)',
          provider: { runtime: { query: 'errorRatio' } },
        },
      ],
    };
    expect(() => resolveArgs({ name: 'error-rate', spec }, input)).toThrow(/needs argument\(s\) region/);
    const args = resolveArgs({ name: 'error-rate', spec }, { ...input, args: { region: 'eu', limit: '0.02' } });
    expect(args).toEqual({ limit: '0.02', region: 'eu', canary: '1.1.0', stable: '1.0.0', service: 'feed', rollout: 'rol_1' });
    expect(resolveMetric('error-rate', spec.metrics[0]!, args)).toMatchObject({
      name: 'errors',
      intervalMs: 30_000,
      initialDelayMs: 0,
      limits: { count: 4, failureLimit: 0, consecutiveErrorLimit: 4, inconclusiveLimit: 0, dryRun: false },
      provider: { type: 'runtime', query: 'errorRatio', version: '1.1.0', windowMs: 60_000 },
    });
  });

  it('makes a critical judge fail on its first High whatever the failure limit', () => {
    const judged = resolveMetric(
      't',
      { name: 'errors', interval: '10s', failureLimit: 3, provider: { judge: { check: 'errorRatio', stable: '0.9.0' } } },
      { canary: '1.1.0', stable: '1.0.0' },
    );
    expect(judged).toMatchObject({
      limits: { failureLimit: 0 },
      provider: { type: 'judge', canary: '1.1.0', stable: '0.9.0', critical: true },
    });
    const latency = resolveMetric(
      't',
      { name: 'lat', interval: '10s', failureLimit: 3, provider: { judge: { check: 'latency', alpha: 0.01 } } },
      { canary: 'c', stable: 's' },
    );
    expect(latency).toMatchObject({ limits: { failureLimit: 3 }, provider: { critical: false, options: { alpha: 0.01, tau: 0.2 } } });
  });

  it('gives the built-in judge a bounded schedule when blocking and an unbounded one in the background', () => {
    const inline = builtinMetrics({ mode: 'inline', canary: '1.1.0', stable: '1.0.0' });
    expect(inline.map((m) => [m.name, m.intervalMs, m.limits.count, m.limits.failureLimit, m.limits.noDataLimit])).toEqual([
      ['error-ratio', 5000, 24, 0, undefined],
      ['latency', 5000, 24, 1, undefined],
    ]);
    const background = builtinMetrics({
      mode: 'background',
      canary: '1.1.0',
      stable: '1.0.0',
      args: { interval: '2s', minRequests: '200' },
    });
    expect(background[0]).toMatchObject({
      intervalMs: 2000,
      limits: { count: undefined, noDataLimit: 60 },
      provider: { options: { minRequests: 200 } },
    });
    expect(() => builtinMetrics({ mode: 'inline', canary: 'a', stable: 'b', args: { interval: 'soon' } })).toThrow(/args\/interval/);
  });
});
