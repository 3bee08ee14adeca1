import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileCondition } from './evaluate.js';
import {
  assessMetric,
  countMeasurement,
  evaluateConditions,
  initialMetricState,
  type MeasurementOutcome,
  type MetricLimits,
  type MetricPhase,
  runPhase,
  worst,
} from './phase.js';

const limits = (over: Partial<MetricLimits> = {}): MetricLimits => ({
  count: 5,
  failureLimit: 0,
  consecutiveErrorLimit: 4,
  inconclusiveLimit: 0,
  dryRun: false,
  ...over,
});

function assessed(outcomes: MeasurementOutcome[], l: MetricLimits, terminating = false) {
  const state = outcomes.reduce(countMeasurement, initialMetricState());
  return { state, ...assessMetric(l, state, terminating) };
}

describe('a measurement from its conditions (Argo EvaluateResult)', () => {
  const success = compileCondition('result < 0.01');
  const failure = compileCondition('result > 0.05');
  const phase = (c: Parameters<typeof evaluateConditions>[0], result: number | null) => evaluateConditions(c, { result, args: {} }).phase;

  it('follows the table for success and failure conditions', () => {
    expect(phase({}, 1)).toBe('Successful');
    expect(phase({ success }, 0.001)).toBe('Successful');
    expect(phase({ success }, 0.02)).toBe('Failed');
    expect(phase({ failure }, 0.02)).toBe('Successful');
    expect(phase({ failure }, 0.06)).toBe('Failed');
    expect(phase({ success, failure }, 0.001)).toBe('Successful');
    expect(phase({ success, failure }, 0.06)).toBe('Failed');
    expect(phase({ success, failure }, 0.02)).toBe('Inconclusive');
    expect(evaluateConditions({ success, failure }, { result: 0.02, args: {} }).message).toBe(
      "neither successCondition 'result < 0.01' nor failureCondition 'result > 0.05' met",
    );
  });

  it('is an Error when a condition cannot be evaluated on the result', () => {
    const outcome = evaluateConditions({ success }, { result: null, args: {} });
    expect(outcome.phase).toBe('Error');
    expect(outcome.message).toContain("'<' compares two numbers or two strings");
  });
});

describe('a metric from its measurements (Argo assessMetricStatus)', () => {
  it('fails once failures exceed failureLimit, and keeps running before', () => {
    expect(assessed(['Failed'], limits()).phase).toBe('Failed');
    expect(assessed(['Failed'], limits({ failureLimit: 1 })).phase).toBe('Running');
    expect(assessed(['Failed', 'Successful', 'Failed'], limits({ failureLimit: 1 }))).toMatchObject({
      phase: 'Failed',
      message: '2 failed measurements exceed the failure limit of 1',
    });
  });

  it('is Inconclusive once inconclusives exceed inconclusiveLimit', () => {
    expect(assessed(['Inconclusive'], limits()).phase).toBe('Inconclusive');
    expect(assessed(['Inconclusive', 'Successful'], limits({ inconclusiveLimit: 1 })).phase).toBe('Running');
  });

  it('errs only after more than consecutiveErrorLimit errors in a row', () => {
    expect(assessed(['Error', 'Error', 'Error', 'Error'], limits({ count: 10 })).phase).toBe('Running');
    expect(assessed(['Error', 'Error', 'Error', 'Error', 'Error'], limits({ count: 10 })).phase).toBe('Error');
    const reset = assessed(['Error', 'Error', 'Error', 'Error', 'Successful', 'Error', 'Error'], limits({ count: 10 }));
    expect(reset).toMatchObject({ phase: 'Running', state: { error: 6, consecutiveError: 2 } });
  });

  it('succeeds when the count is reached, unless it never had data', () => {
    expect(assessed(['Successful', 'Successful', 'Successful', 'Successful'], limits()).phase).toBe('Running');
    expect(assessed(['Successful', 'Error', 'Successful', 'Successful', 'Successful'], limits()).phase).toBe('Successful');
    expect(assessed(['NoData', 'NoData', 'NoData', 'NoData', 'NoData'], limits())).toMatchObject({
      phase: 'Inconclusive',
      message: 'never had enough data in 5 measurements',
    });
    expect(assessed(['NoData', 'NoData', 'Successful', 'Successful', 'Successful'], limits()).phase).toBe('Successful');
    expect(assessed(['NoData', 'NoData', 'NoData'], limits({ count: undefined, noDataLimit: 2 })).phase).toBe('Inconclusive');
  });

  it('runs forever without a count, and ends Successful when terminated', () => {
    const many: MeasurementOutcome[] = new Array(500).fill('Successful');
    expect(assessed(many, limits({ count: undefined })).phase).toBe('Running');
    expect(assessed(many, limits({ count: undefined }), true).phase).toBe('Successful');
    expect(assessed([], limits(), true).phase).toBe('Successful');
  });
});

describe('the run phase', () => {
  it('is the worst metric: Failed > Error > Inconclusive > Successful', () => {
    expect(worst(['Successful', 'Inconclusive', 'Error'])).toBe('Error');
    expect(worst(['Inconclusive', 'Failed', 'Error'])).toBe('Failed');
    expect(
      runPhase([
        { dryRun: false, phase: 'Running' },
        { dryRun: false, phase: 'Inconclusive' },
      ]),
    ).toBe('Inconclusive');
    expect(
      runPhase([
        { dryRun: false, phase: 'Running' },
        { dryRun: false, phase: 'Successful' },
      ]),
    ).toBe('Running');
    expect(
      runPhase([
        { dryRun: false, phase: 'Successful' },
        { dryRun: false, phase: 'Successful' },
      ]),
    ).toBe('Successful');
  });

  it('ignores dry-run metrics', () => {
    expect(
      runPhase([
        { dryRun: true, phase: 'Failed' },
        { dryRun: false, phase: 'Running' },
      ]),
    ).toBe('Running');
    expect(
      runPhase([
        { dryRun: true, phase: 'Running' },
        { dryRun: false, phase: 'Successful' },
      ]),
    ).toBe('Successful');
    expect(runPhase([{ dryRun: true, phase: 'Failed' }])).toBe('Successful');
    expect(runPhase([{ dryRun: true, phase: 'Running' }])).toBe('Running');
  });

  it('never improves when a metric gets worse (property)', () => {
    const phase = fc.constantFrom<MetricPhase>('Running', 'Successful', 'Inconclusive', 'Error', 'Failed');
    const severity: Record<MetricPhase, number> = { Running: 0, Successful: 1, Inconclusive: 2, Error: 3, Failed: 4 };
    fc.assert(
      fc.property(fc.array(fc.record({ dryRun: fc.boolean(), phase }), { minLength: 1, maxLength: 6 }), fc.nat(), (metrics, i) => {
        const target = metrics[i % metrics.length]!;
        if (target.dryRun || target.phase === 'Running') return true;
        const before = runPhase(metrics);
        const worse = metrics.map((m) => (m === target ? { ...m, phase: 'Failed' as const } : m));
        const now = runPhase(worse);
        return now === 'Failed' && (before === 'Running' || severity[now] >= severity[before]);
      }),
    );
  });
});
