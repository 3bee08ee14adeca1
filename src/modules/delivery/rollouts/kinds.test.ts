import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { buildPlan, describeStep, instancesOf, weightBefore } from './plan.js';
import { PRESET_STRATEGIES } from './presets.js';
import { doc, Harness, serviceDoc, TEAM, TEMPLATES } from './rollouts.test-support.js';

describe('plans', () => {
  it('builds the seed presets with the built-in judge in the background', () => {
    const weights = (name: keyof typeof PRESET_STRATEGIES) =>
      buildPlan(PRESET_STRATEGIES[name], name)
        .steps.filter((s) => s.type === 'setWeight')
        .map((s) => (s.type === 'setWeight' ? s.weight : 0));
    expect(weights('tiktok-default')).toEqual([1, 10, 50]);
    expect(weights('pinterest-default')).toEqual([5, 25]);
    expect(weights('meta-default')).toEqual([0.1, 1, 5, 25]);
    expect(weights('fast')).toEqual([10, 50]);
    const tiktok = buildPlan(PRESET_STRATEGIES['tiktok-default'], 'preset tiktok-default');
    expect(tiktok.steps.map((s) => describeStep(s))).toEqual([
      'setWeight 1%',
      'pause 15m',
      'setWeight 10%',
      'pause 30m',
      'setWeight 50%',
      'pause 1h',
    ]);
    expect(tiktok.background).toEqual({ templates: 'builtin', startingStep: 0 });
    expect(tiktok.progressDeadlineMs).toBe(600_000);
    expect(weightBefore(tiktok, 0)).toBe(0);
    expect(weightBefore(tiktok, 3)).toBe(10);
  });

  it('expresses blue-green and rolling in steps', () => {
    const bg = buildPlan({ blueGreen: { autoPromotionSeconds: 60, postPromotionAnalysis: { templates: ['x'] } } }, 'inline');
    expect(bg.steps.map((s) => s.type)).toEqual(['scaleUp', 'setHeaderRoute', 'pause', 'switch', 'analysis']);
    expect(bg.scaleDownDelayMs).toBe(30_000);
    expect(bg.background).toEqual({ templates: 'builtin', startingStep: 0 });
    const rolling = buildPlan({ rolling: {} }, 'inline');
    expect(rolling.steps).toEqual([{ type: 'rolling', maxSurge: '25%', maxUnavailable: '25%' }]);
    expect(rolling.background).toBeNull();
    expect(buildPlan({ canary: { steps: [], analysis: 'none' } }, 'inline').background).toBeNull();
    expect(instancesOf('25%', 10, 'up')).toBe(3);
    expect(instancesOf('25%', 10, 'down')).toBe(2);
    expect(instancesOf(2, 10, 'down')).toBe(2);
  });
});

describe.each(DIALECTS)('RolloutStrategy and Service.spec.delivery on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    expect((await h.apply(TEAM, ...TEMPLATES)).status).toBe(200);
  });
  afterAll(() => h?.server.destroy());

  const issues = async (...documents: unknown[]) => {
    const res = await h.apply(...documents);
    expect(res.status).toBe(400);
    return (res.body.error.details?.issues ?? []).map((i) => `${i.pointer}: ${i.message}`);
  };

  it('applies a named strategy a service refers to, and a deploy uses it', async () => {
    const strategy = doc('RolloutStrategy', 'careful', {
      canary: { steps: [{ setWeight: 0.1 }, { analysis: { templates: ['pass'], args: { minutes: '5' } } }], progressDeadlineSeconds: 300 },
    });
    expect((await h.apply(strategy, serviceDoc('feed', 19601, { strategy: 'careful' }))).status).toBe(200);
    await h.settle();
    const started = await h.deploy('1.1.0');
    expect(started.body).toMatchObject({ source: 'RolloutStrategy/careful', totalSteps: 2 });
    const listed = await h.server.request('/api/v1/resources/rolloutstrategies');
    expect(listed.status).toBe(200);
  });

  it('refuses invalid strategies field by field, at apply time', async () => {
    expect(
      await issues(
        doc('RolloutStrategy', 'bad', {
          canary: {
            steps: [
              { setWeight: 10, pause: {} },
              { setWieght: 5 },
              { setWeight: 10.05 },
              { analysis: { templates: ['builtin', 'pass'] } },
              {},
            ],
            analysis: { templates: ['nope'], startingStep: 9 },
          },
        }),
      ),
    ).toEqual(["/spec/canary/steps/1/setWieght: unknown field 'setWieght' (did you mean 'setWeight'?)"]);
    expect(
      await issues(
        doc('RolloutStrategy', 'bad', {
          canary: {
            steps: [
              { setWeight: 10, pause: {} },
              { setWeight: 10.05 },
              { analysis: { templates: ['builtin', 'pass'] } },
              {},
              { analysis: { templates: ['gone'] } },
            ],
            analysis: { templates: ['nope'], startingStep: 9 },
          },
        }),
      ),
    ).toEqual([
      '/spec/canary/steps/0: must have exactly one action per step (got setWeight and pause); split it into steps',
      '/spec/canary/steps/1/setWeight: must be a percentage in steps of 0.1 (got 10.05)',
      "/spec/canary/steps/2/analysis/templates: 'builtin' (the baseline judge) runs alone; put other templates in their own analysis",
      '/spec/canary/steps/3: must have one of setWeight, pause, analysis, setHeaderRoute, setMirror, setCanaryScale',
      "/spec/canary/steps/4/analysis/templates/0: AnalysisTemplate 'gone' does not exist",
      "/spec/canary/analysis/templates/0: AnalysisTemplate 'nope' does not exist",
      '/spec/canary/analysis/startingStep: must be at most the number of steps (5)',
    ]);
    expect(await issues(doc('RolloutStrategy', 'two', { canary: { steps: [] }, rolling: {} }))).toEqual([
      '/spec: must have exactly one of canary, blueGreen or rolling (got canary and rolling)',
    ]);
    expect(await issues(doc('RolloutStrategy', 'r', { rolling: { maxSurge: 0, maxUnavailable: '0%' } }))).toEqual([
      '/spec/rolling: maxSurge and maxUnavailable cannot both be 0: nothing could ever be replaced',
    ]);
    expect(await issues(doc('RolloutStrategy', 'r', { rolling: { maxSurge: '125%' } }))).toEqual([
      "/spec/rolling/maxSurge: must be a number of instances or a percentage such as '25%' (got '125%')",
    ]);
    expect(await issues(doc('RolloutStrategy', 'b', { blueGreen: { autoPromotionEnabled: false, autoPromotionSeconds: 30 } }))).toEqual([
      '/spec/blueGreen/autoPromotionSeconds: has no effect with autoPromotionEnabled: false (the switch waits for promote)',
    ]);
    expect(await issues(doc('RolloutStrategy', 'p', { canary: { steps: [{ pause: { duration: 'soon' } }] } }))).toEqual([
      "/spec/canary/steps/0/pause/duration: must be a duration such as '0s', '30s', '5m', '1h30m' or '7d' (got 'soon')",
    ]);
  });

  it("checks a service's delivery section: the strategy it names, an inline one, a preset", async () => {
    expect(await issues(serviceDoc('svc-a', 19602, { strategy: 'missing' }))).toEqual([
      "/spec/delivery/strategy: RolloutStrategy 'missing' does not exist",
    ]);
    expect(await issues(serviceDoc('svc-a', 19602, { strategy: { canary: { steps: [{ setWeight: 200 }] } } }))).toEqual([
      '/spec/delivery/strategy/canary/steps/0/setWeight: must be number from 0 to 100 (got 200)',
    ]);
    expect(await issues(serviceDoc('svc-a', 19602, { strategy: { canary: { steps: [], analysis: 'nope' } } }))).toEqual([
      "/spec/delivery/strategy/canary/analysis: must be 'none' or a mapping with templates (and args, startingStep)",
    ]);
    expect(await issues(serviceDoc('svc-a', 19602, { strategy: 'careful', preset: 'fast' }))).toEqual([
      '/spec/delivery/preset: give either strategy or preset, not both',
    ]);
    expect(await issues(serviceDoc('svc-a', 19602, { preset: 'slow' }))).toEqual([
      "/spec/delivery/preset: must be one of 'tiktok-default', 'pinterest-default', 'meta-default', 'fast' (got 'slow')",
    ]);
    expect(await issues(serviceDoc('svc-a', 19602, { strategy: 'careful', pipeline: 'nope' }))).toEqual([
      "/spec/delivery/pipeline: Pipeline 'nope' does not exist",
    ]);
    expect((await h.apply(serviceDoc('svc-a', 19602, { strategy: { blueGreen: {} } }))).status).toBe(200);
    expect((await h.apply(serviceDoc('svc-b', 19603))).status).toBe(200);
    await h.settle('svc-b');
    const r = await h.deploy('2.0.0', {}, 'svc-b');
    expect(r.body).toMatchObject({ source: 'preset fast', totalSteps: 4 });
  });
});
