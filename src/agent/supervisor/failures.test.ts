import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import type { InstanceState } from '../protocol.js';
import { cleanupHarnesses, createHarness, fixtureService, httpGet, isFixtureProcess, readyInstances, waitFor } from './test-harness.js';

afterEach(cleanupHarnesses);

describe('supervisor failure handling', () => {
  it('restarts a crashed instance with exponential backoff and reports the crash with its output', async () => {
    const { supervisor, events } = createHarness();
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { CRASH_AFTER_REQUESTS: '1' } }])]);
    const first = await waitFor('ready', () => readyInstances(supervisor, 'web')[0]);

    await httpGet(first.port, '/boom');
    const crashed = await waitFor('crash event', () => events.find((e) => e.type === 'instance.crashed'));
    expect(crashed).toMatchObject({ service: 'web', version: 'v1', instance: 'web-v1-1', data: { code: 1, signal: null } });
    expect((crashed.data!.output as string[]).join('\n')).toContain('crashing after 1 requests');

    const second = await waitFor('ready again', () => readyInstances(supervisor, 'web').find((i) => i.pid !== first.pid));
    expect(second).toMatchObject({ id: 'web-v1-1', restarts: 1, lastExit: { code: 1, signal: null } });
    const restarted = events.filter((e) => e.type === 'instance.restarted');
    expect(restarted.map((e) => e.data)).toEqual([{ reason: 'crash', restarts: 1, delayMs: 100 }]);
    expect(restarted[0]!.at - crashed.at).toBeGreaterThanOrEqual(90);

    // The next crash waits twice as long: the run was not ready long enough to reset the backoff.
    await httpGet(second.port, '/boom');
    await waitFor('ready a third time', () => readyInstances(supervisor, 'web').find((i) => i.restarts === 2));
    expect(events.filter((e) => e.type === 'instance.restarted').map((e) => e.data!.delayMs)).toEqual([100, 200]);
    expect(supervisor.versions()[0]).toMatchObject({ health: 'healthy' });
  });

  it('marks an instance whose health check starts failing unready, then restarts it (liveness)', async () => {
    const { supervisor, events } = createHarness();
    const seen: Array<{ state: InstanceState; endpoints: number }> = [];
    supervisor.onEndpointsChanged(() => {
      const instance = supervisor.instances()[0];
      if (instance) seen.push({ state: instance.state, endpoints: supervisor.endpoints('web').get('v1')?.length ?? 0 });
    });
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { FAIL_HEALTH_AFTER_MS: '700' } }])]);
    const first = await waitFor('ready', () => readyInstances(supervisor, 'web')[0]);
    await waitFor('liveness restart', () => events.find((e) => e.type === 'instance.restarted'), { timeoutMs: 10_000 });
    expect(events.find((e) => e.type === 'instance.restarted')!.data).toMatchObject({ reason: 'liveness', restarts: 1 });
    expect(seen).toContainEqual({ state: 'unready', endpoints: 0 });
    expect(events.some((e) => e.type === 'instance.crashed')).toBe(false);
    const again = await waitFor('ready after restart', () => readyInstances(supervisor, 'web').find((i) => i.pid !== first.pid));
    expect(again.restarts).toBe(1);
    expect(isFixtureProcess(first.pid!)).toBe(false);
  });

  it('fails a version whose command does not exist, leaving the other versions alone', async () => {
    const { supervisor, events } = createHarness();
    await supervisor.apply([
      fixtureService('web', [
        { version: 'good', instances: 1 },
        { version: 'bad', instances: 1, command: '/nonexistent/opsdeck-no-such-command', args: ['--serve'] },
      ]),
    ]);
    const failed = await waitFor('version failed', () => supervisor.versions().find((v) => v.version === 'bad' && v.health === 'failed'));
    expect(failed.reason).toContain('ENOENT');
    expect(failed.reason).toContain('/nonexistent/opsdeck-no-such-command');
    expect(events.filter((e) => e.type === 'version.failed')).toEqual([
      expect.objectContaining({ service: 'web', version: 'bad', data: { reason: failed.reason } }),
    ]);
    const bad = supervisor.instances().find((i) => i.version === 'bad')!;
    expect(bad).toMatchObject({ state: 'crashed', restarts: 2, pid: null });
    await waitFor('good ready', () => readyInstances(supervisor, 'web', 'good').length === 1);
    expect(supervisor.versions().find((v) => v.version === 'good')).toMatchObject({ health: 'healthy', ready: 1 });
    expect([...supervisor.endpoints('web')].map(([v, eps]) => [v, eps.length])).toEqual([
      ['good', 1],
      ['bad', 0],
    ]);

    // The same spec again is not retried; a changed spec is.
    await supervisor.apply([
      fixtureService('web', [
        { version: 'good', instances: 1 },
        { version: 'bad', instances: 1, command: '/nonexistent/opsdeck-no-such-command', args: ['--serve'] },
      ]),
    ]);
    expect(supervisor.versions().find((v) => v.version === 'bad')!.health).toBe('failed');
    await supervisor.apply([
      fixtureService('web', [
        { version: 'good', instances: 1 },
        { version: 'bad', instances: 1 },
      ]),
    ]);
    await waitFor('fixed version ready', () => supervisor.versions().find((v) => v.version === 'bad' && v.health === 'healthy'));
  });

  it('spaces restart attempts by the back-off on the clock (fake clock)', async () => {
    const clock = new FakeClock();
    const { supervisor, events } = createHarness({ clock, tuning: { backoffBaseMs: 1_000, backoffMaxMs: 60_000 } });
    const count = (type: string) => events.filter((e) => e.type === type).length;
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, command: '/nonexistent/opsdeck-no-such-command' }])]);
    await waitFor('first attempt failed', () => count('instance.crashed') === 1);
    expect(supervisor.instances()[0]!.state).toBe('backoff');
    clock.advance(999);
    expect(count('instance.restarted')).toBe(0);
    clock.advance(1);
    await waitFor('second attempt failed', () => count('instance.crashed') === 2);
    clock.advance(1_999);
    expect(count('instance.restarted')).toBe(1);
    clock.advance(1);
    await waitFor('third attempt failed', () => count('instance.crashed') === 3);
    expect(events.filter((e) => e.type === 'instance.restarted').map((e) => e.data!.delayMs)).toEqual([1_000, 2_000]);
    expect(supervisor.versions()[0]!.health).toBe('failed');
    clock.advance(600_000);
    expect(count('instance.restarted')).toBe(2);
  });

  it('names a missing working directory rather than blaming the command', async () => {
    const { supervisor } = createHarness();
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, cwd: '/nonexistent/opsdeck-cwd' }])]);
    const failed = await waitFor('version failed', () => supervisor.versions().find((v) => v.health === 'failed'));
    expect(failed.reason).toContain('working directory /nonexistent/opsdeck-cwd does not exist');
  });

  it('fails a version whose process exits at once, with its stderr in the reason', async () => {
    const { supervisor, events } = createHarness();
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { EXIT_IMMEDIATELY: '1' } }])]);
    const failed = await waitFor('version failed', () => supervisor.versions().find((v) => v.health === 'failed'));
    expect(failed.reason).toContain('failed to start 3 times');
    expect(failed.reason).toContain('exited with code 1');
    expect(failed.reason).toContain('EXIT_IMMEDIATELY is set, refusing to start');
    expect(events.filter((e) => e.type === 'instance.crashed')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'version.failed')).toHaveLength(1);
    expect(supervisor.instances()[0]).toMatchObject({ state: 'crashed', restarts: 2 });
  });

  it('detects a crash loop and keeps retrying with backoff', async () => {
    const { supervisor, events } = createHarness({ tuning: { startTimeoutMs: 300, backoffBaseMs: 50, backoffMaxMs: 200 } });
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { FAIL_HEALTH: '1' } }])]);
    const looping = await waitFor('crash loop', () => supervisor.versions().find((v) => v.health === 'crash-loop'));
    expect(looping.reason).toContain('crash loop: 5 failures');
    expect(looping.reason).toContain('never became ready');
    expect(events.filter((e) => e.type === 'version.crash-loop')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'instance.restarted').every((e) => e.data!.reason === 'not-ready')).toBe(true);
    // Still retrying: a crash loop is reported, not given up on.
    await waitFor('another restart', () => (supervisor.instances()[0]?.restarts ?? 0) >= 6);
    expect(supervisor.versions()[0]!.health).toBe('crash-loop');
  });

  it('kill() SIGKILLs ready instances, which are replaced at once and not counted as a crash loop', async () => {
    const { supervisor, events } = createHarness();
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2 }])]);
    await waitFor('2 ready', () => readyInstances(supervisor, 'web').length === 2);
    for (let round = 1; round <= 3; round++) {
      const before = new Set(readyInstances(supervisor, 'web').map((i) => i.pid));
      const killed = await supervisor.kill('web', 2, 'v1');
      expect(killed.sort()).toEqual(['web-v1-1', 'web-v1-2']);
      await waitFor('replaced', () => {
        const ready = readyInstances(supervisor, 'web');
        return ready.length === 2 && ready.every((i) => !before.has(i.pid));
      });
      for (const pid of before) expect(isFixtureProcess(pid!)).toBe(false);
    }
    expect(events.filter((e) => e.type === 'instance.killed')).toHaveLength(6);
    const restarted = events.filter((e) => e.type === 'instance.restarted');
    expect(restarted.every((e) => e.data!.reason === 'killed' && e.data!.delayMs === 0)).toBe(true);
    expect(events.some((e) => e.type === 'version.crash-loop' || e.type === 'instance.crashed')).toBe(false);
    expect(supervisor.versions()[0]).toMatchObject({ health: 'healthy', ready: 2 });
    expect(await supervisor.kill('web', 1, 'nope')).toEqual([]);
  });

  it('resets the backoff once a restarted instance has been ready for the stable period', async () => {
    const { supervisor, events } = createHarness({ tuning: { stableAfterMs: 300 } });
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { CRASH_AFTER_REQUESTS: '1' } }])]);
    for (let round = 1; round <= 3; round++) {
      const ready = await waitFor('ready', () => readyInstances(supervisor, 'web').find((i) => i.restarts === round - 1));
      if (round === 3) {
        // Held readiness past the stable period (300 ms) before this crash.
        await waitFor('stable', () => Date.now() - ready.readyAt! > 500);
      }
      await httpGet(ready.port, '/boom');
      await waitFor('restarted', () => events.filter((e) => e.type === 'instance.restarted').length === round);
    }
    expect(events.filter((e) => e.type === 'instance.restarted').map((e) => e.data!.delayMs)).toEqual([100, 200, 100]);
  });
});
