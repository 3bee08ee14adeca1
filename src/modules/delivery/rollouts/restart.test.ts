import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { Harness } from './rollouts.test-support.js';

describe.each(DIALECTS)('rollouts across a restart on %s', (dialect) => {
  it('resumes a paused step where it was, without repeating or skipping a step', async () => {
    const clock = new FakeClock('2026-03-02T10:00:00Z');
    const first = await Harness.start(dialect, clock);
    const steps = [{ setWeight: 10 }, { pause: { duration: '10m' } }, { setWeight: 50 }, { pause: {} }];
    await first.setup('feed', 19501, { strategy: { canary: { steps, analysis: 'none' } } });
    await first.deploy('1.1.0');
    const before = await first.rollout();
    expect(before).toMatchObject({ step: 1, phase: 'Progressing' });
    await first.server.close();

    clock.advance(4 * 60_000);
    let h = await Harness.start(dialect, clock, { store: first.server.store, agentToken: first.agentToken });
    try {
      await h.settle();
      expect(await h.rollout()).toMatchObject({ id: before.id, step: 1, phase: 'Progressing', pauseUntil: before.pauseUntil });
      await h.server.close();

      // Down while the pause ends: the durable timer runs on the next start.
      clock.advance(10 * 60_000);
      h = await Harness.start(dialect, clock, { store: first.server.store, agentToken: first.agentToken });
      await h.settle();
      const r = await h.rollout();
      expect(r).toMatchObject({ id: before.id, phase: 'Paused', step: 3, weights: { '1.0.0': 50, '1.1.0': 50 } });
      expect(r.log.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([0, 1, 2]);
    } finally {
      await h.server.destroy();
    }
  });
});
