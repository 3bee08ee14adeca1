import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { Harness } from './rollouts.test-support.js';

const BLUE_GREEN = {
  blueGreen: { prePromotionAnalysis: { templates: ['pass'] }, autoPromotionEnabled: false, scaleDownDelaySeconds: 30, analysis: 'none' },
};

describe.each(DIALECTS)('blue-green rollouts on %s', (dialect) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.destroy();
    h = undefined;
  });

  it('brings the new version up at full size without traffic, previews it, switches all traffic at once, and keeps the old one for the rollback window', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19301, { strategy: BLUE_GREEN }, 3);
    await h.deploy('1.1.0');
    let r = await h.rollout();
    expect(r.steps.map((s) => s.description)).toEqual([
      'scale 1.1.0 to full size',
      'header route x-opsdeck-version: 1.1.0 (preview)',
      'prePromotion analysis (pass)',
      'pause until promoted',
      'switch all traffic to 1.1.0',
    ]);
    expect(r).toMatchObject({ strategy: 'blueGreen', phase: 'Paused', pauseReason: 'step', step: 3, weights: { '1.0.0': 100 } });
    expect(r.headerRoute).toEqual({ name: 'preview', header: 'x-opsdeck-version', value: '1.1.0' });
    expect(r.analysis).toEqual([expect.objectContaining({ mode: 'prePromotion', phase: 'Successful' })]);
    expect((await h.split()).instances).toEqual({ '1.0.0': 3, '1.1.0': 3 });

    await h.act('promote');
    r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Succeeded', weights: { '1.1.0': 100 } });
    // One switch: no split in between.
    const changes = (await h.events('runtime.weights.changed')).map((e) => (e.data as { weights: Record<string, number> }).weights);
    expect(changes).toEqual([{ '1.1.0': 100 }]);
    // The old version keeps its instances for scaleDownDelaySeconds: rollback is a switch.
    await h.advance(20_000);
    expect((await h.split()).instances).toEqual({ '1.0.0': 3, '1.1.0': 3 });
    const undone = await h.act('undo', { reason: 'errors after the switch' });
    expect(undone.status).toBe(200);
    r = await h.rollout();
    expect(r).toMatchObject({
      version: '1.0.0',
      rollbackOf: expect.stringMatching(/^rol_/),
      phase: 'Succeeded',
      weights: { '1.0.0': 100 },
    });
    expect(r.log.filter((l) => l.type === 'waiting')).toEqual([]); // no scale-up was needed
    expect((await h.split()).instances).toEqual({ '1.0.0': 3, '1.1.0': 0 });
    // The reverted rollout does not scale 1.0.0 down when its delay ends.
    await h.advance(60_000);
    expect((await h.split()).instances).toEqual({ '1.0.0': 3, '1.1.0': 0 });
  });

  it('scales the old version down when the delay ends, and an abort before the switch leaves the traffic where it was', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19302, { strategy: { blueGreen: { scaleDownDelaySeconds: 30, analysis: 'none' } } }, 2);
    await h.deploy('1.1.0');
    let r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Succeeded', weights: { '1.1.0': 100 } });
    expect((await h.split()).instances).toEqual({ '1.0.0': 2, '1.1.0': 2 });
    await h.advance(29_000);
    expect((await h.split()).instances['1.0.0']).toBe(2);
    await h.advance(1_000);
    expect((await h.split()).instances['1.0.0']).toBe(0);
    expect((await h.rollout()).log.at(-1)?.message).toBe('1.0.0 scaled to 0 instances (the runtime drains them).');

    await h.apply({
      apiVersion: 'opsdeck.dev/v1',
      kind: 'Service',
      metadata: { name: 'feed', annotations: { 'opsdeck.dev/version': '1.0.0' } },
      spec: {
        owner: 'core',
        runtime: { kind: 'process', command: 'node', args: ['server.js'], instances: 2, port: 19302 },
        delivery: { strategy: { blueGreen: { autoPromotionEnabled: false, analysis: 'none' } } },
      },
    });
    await h.settle();
    await h.deploy('1.2.0');
    expect((await h.rollout()).phase).toBe('Paused');
    await h.act('abort', { reason: 'preview looked wrong' });
    r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Aborted', weights: { '1.1.0': 100 } });
    expect((await h.split()).instances).toEqual({ '1.0.0': 0, '1.1.0': 2, '1.2.0': 0 });
    expect(await h.events('runtime.weights.changed')).toHaveLength(1);
  });
});
