import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { Harness } from './rollouts.test-support.js';

const STEPS = {
  canary: {
    steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { analysis: { templates: ['pass'] } }, { setWeight: 50 }, { pause: {} }],
    analysis: 'none',
  },
};

describe.each(DIALECTS)('canary rollouts on %s', (dialect) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.destroy();
    h = undefined;
  });

  it('takes a good canary through every step to Succeeded, creating its release, announcing each transition', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19101, { strategy: STEPS });

    const started = await h.deploy('1.1.0', { commitTime: '2026-03-02T09:00:00Z' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      service: 'feed',
      version: '1.1.0',
      stable: '1.0.0',
      strategy: 'canary',
      source: 'inline',
      phase: 'Progressing',
      deployer: 'admin',
      totalSteps: 5,
      commitTime: Date.parse('2026-03-02T09:00:00Z'),
    });
    expect(started.body.id).toMatch(/^rol_/);
    expect((await h.versions()).map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);

    // Step 1: 25% on one of four instances, then the timed pause.
    let r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Progressing', step: 1, weights: { '1.0.0': 75, '1.1.0': 25 }, currentStep: 'pause 1m' });
    expect((await h.split()).instances).toEqual({ '1.0.0': 4, '1.1.0': 1 });
    expect(r.pauseUntil).toBe(h.clock.now() + 60_000);

    await h.advance(59_000);
    expect((await h.rollout()).step).toBe(1);
    await h.advance(1_000);
    // Step 3 (analysis 'pass') finished on its first measurement, step 4 moved to 50%, step 5 waits for promote.
    r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Paused', pauseReason: 'step', step: 4, weights: { '1.0.0': 50, '1.1.0': 50 } });
    expect((await h.split()).instances).toEqual({ '1.0.0': 4, '1.1.0': 2 });
    expect(r.analysis).toEqual([expect.objectContaining({ mode: 'inline', step: 2, phase: 'Successful' })]);
    expect(r.steps.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done', 'current']);

    const promoted = await h.act('promote', { reason: 'looks good' });
    expect(promoted.status).toBe(200);
    r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Succeeded', step: 5, weights: { '1.1.0': 100 } });
    expect(r.finishedAt).toBe(h.clock.now());
    expect((await h.split()).instances).toEqual({ '1.0.0': 0, '1.1.0': 4 });

    const types = (await h.events('delivery.rollout.*')).map((e) => e.type);
    expect(types[0]).toBe('delivery.rollout.started');
    expect(types.filter((t) => t === 'delivery.rollout.step')).toHaveLength(5);
    expect(types).toEqual(expect.arrayContaining(['delivery.rollout.paused', 'delivery.rollout.promoted', 'delivery.rollout.succeeded']));
    const all = await h.events('delivery.rollout.*');
    expect(all.every((e) => e.service === 'feed' && e.change && e.subject === `rollout/${r.id}`)).toBe(true);
    const succeeded = all.find((e) => e.type === 'delivery.rollout.succeeded')!;
    expect(succeeded.data).toMatchObject({
      rolloutId: r.id,
      version: '1.1.0',
      stable: '1.0.0',
      deployer: 'admin',
      commitTime: Date.parse('2026-03-02T09:00:00Z'),
    });

    const messages = r.log.map((l) => l.message);
    expect(messages[0]).toMatch(/^Started by admin: 1\.0\.0 → 1\.1\.0 \(inline, canary; 5 steps\)/);
    expect(messages).toContain('Step 1/5 (setWeight 25%) done: 1.1.0 takes 25% of the traffic on 1 instance.');
    expect(messages.some((m) => /^Step 3\/5 \(analysis \(pass\)\) done: analysis run anr_\w+ Successful/.test(m))).toBe(true);
    expect(messages.at(-2)).toMatch(/^Succeeded: 1\.1\.0 takes all the traffic on 4 instances/);
    expect(messages.at(-1)).toBe('1.0.0 scaled to 0 instances (the runtime drains them).');
    const audit = await h.server.core.audit.list({ action: 'delivery.rollout.promote' });
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'token:admin',
        target: `rollout/${r.id}`,
        details: expect.objectContaining({ reason: 'looks good' }),
      }),
    ]);
  });

  it('gives the canary weight only once it is ready, and aborts at the progress deadline when it never is', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19102, { strategy: { canary: { steps: [{ setWeight: 10 }], analysis: 'none', progressDeadlineSeconds: 60 } } });
    h.overrides.set('1.1.0', { ready: 0 });
    await h.deploy('1.1.0');
    let r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Progressing', step: 0, weights: { '1.0.0': 100 }, progressDeadlineAt: h.clock.now() + 60_000 });
    expect((await h.split()).instances['1.1.0']).toBe(1);
    expect(r.log.at(-1)!.message).toBe(
      'Waiting: 1.1.0 has 0 of 1 instance ready; the rollout aborts if that takes past 10m.'.replace('10m', '1m'),
    );

    await h.advance(30_000);
    expect((await h.rollout()).phase).toBe('Progressing');
    await h.advance(30_000);
    r = await h.rollout();
    expect(r).toMatchObject({
      phase: 'Aborted',
      reason: 'progress deadline exceeded: 1.1.0 had 0 of 1 instance ready after 60s',
      weights: { '1.0.0': 100 },
      decision: expect.objectContaining({ source: 'deadline' }),
    });
    expect((await h.split()).instances['1.1.0']).toBe(0);
    const aborted = (await h.events('delivery.rollout.aborted'))[0]!;
    expect(aborted.data).toMatchObject({ rolloutId: r.id, service: 'feed', version: '1.1.0', deployer: 'admin', reason: r.reason });
  });

  it('a failed analysis aborts at once: weight 0, instances drained, the failing decision and the time to weight 0 recorded', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19103, {
      strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: { templates: ['fail'] } }, { setWeight: 50 }], analysis: 'none' } },
    });
    await h.deploy('1.1.0');
    const r = await h.rollout();
    expect(r.phase).toBe('Aborted');
    expect(r.reason).toMatch(/^analysis run anr_\w+ Failed: metric 'requests' Failed/);
    expect(r.weights).toEqual({ '1.0.0': 100 });
    expect((await h.split()).instances).toEqual({ '1.0.0': 4, '1.1.0': 0 });
    expect(r.decision).toMatchObject({
      source: 'analysis',
      phase: 'Failed',
      decisions: [expect.objectContaining({ metric: 'requests', verdict: 'Failed' })],
    });
    expect(r.timeToWeightZeroMs).toBeGreaterThanOrEqual(0);
    expect(r.log.map((l) => l.type)).toEqual(expect.arrayContaining(['aborted', 'restored', 'settled']));
    const restored = (await h.events('delivery.rollout.restored'))[0]!;
    expect(restored.data).toMatchObject({ msFromDecision: r.timeToWeightZeroMs });
    const aborted = (await h.events('delivery.rollout.aborted'))[0]!;
    expect(aborted.data).toMatchObject({ reason: r.reason, decision: expect.objectContaining({ runId: expect.stringMatching(/^anr_/) }) });
  });

  it('the built-in judge in the background rolls back a canary with 5% errors and names the error-ratio verdict', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19104, { strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '10m' } }] } } });
    await h.deploy('1.1.0');
    let r = await h.rollout();
    expect(r.analysis).toEqual([expect.objectContaining({ mode: 'background', phase: 'Running' })]);
    for (let i = 0; i < 12 && r.phase !== 'Aborted'; i++) {
      h.traffic('1.1.0', 300, 15);
      h.traffic('1.0.0', 300, 0);
      await h.advance(5_000);
      r = await h.rollout();
    }
    expect(r.phase).toBe('Aborted');
    expect(r.reason).toMatch(/^background analysis anr_\w+ Failed: metric 'error-ratio' Failed/);
    expect(r.reason).toContain('error ratio');
    expect(r.weights).toEqual({ '1.0.0': 100 });
    expect(r.decision?.failing).toMatchObject({ metric: 'error-ratio', verdict: 'High' });
    expect(String((r.decision?.failing as { reason?: string } | undefined)?.reason)).toContain('error ratio');
  });

  it('a crash-looping canary is rolled back', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19105, { strategy: { canary: { steps: [{ setWeight: 10 }, { pause: {} }], analysis: 'none' } } });
    await h.deploy('1.1.0');
    expect((await h.rollout()).phase).toBe('Paused');
    h.overrides.set('1.1.0', { ready: 0, health: 'crash-loop', reason: 'exited with code 1 three times' });
    h.event('version.crash-loop', '1.1.0', { reason: 'exited with code 1 three times' });
    await h.settle();
    const r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Aborted', reason: '1.1.0 is crash-loop: exited with code 1 three times', weights: { '1.0.0': 100 } });
    expect((await h.split()).instances['1.1.0']).toBe(0);
  });

  it('an inconclusive analysis pauses for a person; resume goes on past it', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19106, {
      strategy: { canary: { steps: [{ setWeight: 10 }, { analysis: { templates: ['unsure'] } }, { setWeight: 30 }], analysis: 'none' } },
    });
    await h.deploy('1.1.0');
    let r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Paused', pauseReason: 'inconclusive', step: 1 });
    expect(r.log.at(-1)!.message).toMatch(/Inconclusive: .*Paused for a person/);
    const resumed = await h.act('resume', { reason: 'traffic too low to judge; checked by hand' });
    expect(resumed.status).toBe(200);
    r = await h.rollout();
    expect(r.phase).toBe('Succeeded');
    expect(r.log.map((l) => l.type)).toContain('resumed');
  });

  it('mirrors, announces the header route and sizes the canary with setCanaryScale', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    const steps = [
      { setHeaderRoute: { name: 'qa' } },
      { setMirror: { percent: 5 } },
      { setCanaryScale: { instances: 3 } },
      { setWeight: 10 },
      { pause: {} },
    ];
    await h.setup('feed', 19107, { strategy: { canary: { steps, analysis: 'none' } } });
    await h.deploy('1.1.0');
    const r = await h.rollout();
    expect(r).toMatchObject({
      phase: 'Paused',
      step: 4,
      headerRoute: { name: 'qa', header: 'x-opsdeck-version', value: '1.1.0' },
      mirrorPercent: 5,
      weights: { '1.0.0': 90, '1.1.0': 10 },
    });
    const versions = await h.versions();
    expect(versions.find((v) => v.version === '1.1.0')).toMatchObject({ desiredInstances: 3, mirrorPercent: 5 });
    await h.act('abort', { reason: 'enough' });
    const after = await h.versions();
    expect(after.find((v) => v.version === '1.1.0')).toMatchObject({ desiredInstances: 0, weight: 0 });
    expect(after.find((v) => v.version === '1.1.0')?.mirrorPercent).toBeUndefined();
  });
});
