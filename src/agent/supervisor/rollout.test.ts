import { afterEach, describe, expect, it } from 'vitest';
import { cleanupHarnesses, createHarness, fixtureService, isFixtureProcess, readyInstances, waitFor } from './test-harness.js';

afterEach(cleanupHarnesses);

describe('supervisor spec changes', () => {
  it('replaces instances one at a time, never dropping below the desired ready count', async () => {
    const { supervisor, drains } = createHarness();
    const samples: Array<{ ready: number; running: number }> = [];
    supervisor.onEndpointsChanged(() => {
      const instances = supervisor.instances();
      samples.push({
        ready: supervisor.endpoints('web').get('v1')?.length ?? 0,
        running: instances.filter((i) => i.state === 'starting' || i.state === 'ready').length,
      });
    });
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2, env: { FLAVOUR: 'old' } }])]);
    await waitFor('2 ready', () => readyInstances(supervisor, 'web').length === 2);
    const oldPids = readyInstances(supervisor, 'web').map((i) => i.pid!);
    samples.length = 0;

    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2, env: { FLAVOUR: 'new' } }])]);
    await waitFor('replaced', () => {
      const ready = readyInstances(supervisor, 'web');
      return supervisor.instances().length === 2 && ready.length === 2 && ready.every((i) => !oldPids.includes(i.pid!));
    });
    // Surge one: a new instance becomes ready before an old one is drained.
    expect(Math.min(...samples.map((s) => s.ready))).toBeGreaterThanOrEqual(2);
    expect(Math.max(...samples.map((s) => s.running))).toBeLessThanOrEqual(3);
    expect(drains).toHaveLength(2);
    for (const pid of oldPids) expect(isFixtureProcess(pid)).toBe(false);
    expect(supervisor.versions()[0]).toMatchObject({ health: 'healthy', ready: 2, desired: 2 });
  });

  it('with one instance there is never a moment without a ready one', async () => {
    const { supervisor } = createHarness();
    let minReady = Number.POSITIVE_INFINITY;
    const watch = () => {
      minReady = Math.min(minReady, supervisor.endpoints('web').get('v1')?.length ?? 0);
    };
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1 }])]);
    const old = await waitFor('ready', () => readyInstances(supervisor, 'web')[0]);
    supervisor.onEndpointsChanged(watch);
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { STARTUP_DELAY_MS: '300' } }])]);
    await waitFor('replaced', () => supervisor.instances().length === 1 && readyInstances(supervisor, 'web')[0]?.pid !== old.pid);
    expect(minReady).toBe(1);
  });

  it('keeps the old instances serving when the new spec fails to start', async () => {
    const { supervisor } = createHarness();
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2 }])]);
    await waitFor('2 ready', () => readyInstances(supervisor, 'web').length === 2);
    const oldPids = readyInstances(supervisor, 'web').map((i) => i.pid);
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2, env: { EXIT_IMMEDIATELY: '1' } }])]);
    const failed = await waitFor('failed', () => supervisor.versions().find((v) => v.health === 'failed'));
    expect(failed.reason).toContain('EXIT_IMMEDIATELY');
    expect(readyInstances(supervisor, 'web').map((i) => i.pid)).toEqual(oldPids);
    expect(supervisor.endpoints('web').get('v1')).toHaveLength(2);
  });
});
