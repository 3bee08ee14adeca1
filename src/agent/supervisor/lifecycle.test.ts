import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PidRecord } from './pid-files.js';
import { cleanupHarnesses, createHarness, fixtureService, httpGet, isFixtureProcess, readyInstances, waitFor } from './test-harness.js';

afterEach(cleanupHarnesses);

describe('supervisor lifecycle', () => {
  it('starts instances with their identity and a free port, and reports them ready', async () => {
    const { supervisor, events, stateDir } = createHarness();
    const changed: string[] = [];
    supervisor.onEndpointsChanged((service) => changed.push(service));
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 2, env: { GREETING: 'hi' } }])]);

    const ready = await waitFor('2 ready', () => readyInstances(supervisor, 'web').length === 2 && readyInstances(supervisor, 'web'));
    expect(ready.map((i) => i.id).sort()).toEqual(['web-v1-1', 'web-v1-2']);
    for (const instance of ready) {
      const response = await httpGet(instance.port, '/hello');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        service: 'web',
        version: 'v1',
        instance: instance.id,
        pid: instance.pid,
        path: '/hello',
      });
      const record = JSON.parse(readFileSync(join(stateDir, 'instances', `${instance.id}.json`), 'utf8')) as PidRecord;
      expect(record).toMatchObject({ pid: instance.pid, pgid: instance.pid, port: instance.port, service: 'web', version: 'v1' });
      expect(record.specHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set(ready.map((i) => i.port)).size).toBe(2);
    expect(supervisor.versions()).toEqual([{ service: 'web', version: 'v1', health: 'healthy', ready: 2, desired: 2 }]);
    const endpoints = supervisor.endpoints('web').get('v1')!;
    expect(endpoints.map((e) => e.id)).toEqual(['web-v1-1', 'web-v1-2']);
    expect(endpoints.every((e) => e.host === '127.0.0.1')).toBe(true);
    expect(changed).toContain('web');
    expect(events.filter((e) => e.type === 'instance.started')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'instance.ready')).toHaveLength(2);
  });

  it('scales up, then down newest first, draining before the shutdown signal', async () => {
    const h = createHarness({
      onDrain: async (call) => {
        // The router drains while the instance still serves: no signal has been sent yet.
        const instance = h.supervisor.instances().find((i) => i.id === call.instance)!;
        const health = await httpGet(instance.port, '/healthz');
        aliveDuringDrain.push([call.instance, health.status]);
      },
    });
    const aliveDuringDrain: Array<[string, number]> = [];
    const { supervisor, events, drains } = h;
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1 }])]);
    await waitFor('1 ready', () => readyInstances(supervisor, 'web').length === 1);
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 3 }])]);
    await waitFor('3 ready', () => readyInstances(supervisor, 'web').length === 3);
    const pids = new Map(supervisor.instances().map((i) => [i.id, i.pid!]));

    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1 }], { shutdown: { gracePeriodMs: 2_000 } })]);
    expect(
      supervisor
        .endpoints('web')
        .get('v1')!
        .map((e) => e.id),
    ).toEqual(['web-v1-1']);
    await waitFor('scaled down', () => supervisor.instances().length === 1);
    expect(supervisor.instances()[0]).toMatchObject({ id: 'web-v1-1', state: 'ready' });
    expect(drains.map((d) => d.instance).sort()).toEqual(['web-v1-2', 'web-v1-3']);
    expect(drains.every((d) => d.graceMs === 2_000 && d.service === 'web')).toBe(true);
    expect(aliveDuringDrain.sort()).toEqual([
      ['web-v1-2', 200],
      ['web-v1-3', 200],
    ]);
    const stopped = events.filter((e) => e.type === 'instance.stopped');
    expect(stopped.map((e) => [e.instance, e.data])).toEqual(
      expect.arrayContaining([
        ['web-v1-2', { code: 0, signal: null, forced: false }],
        ['web-v1-3', { code: 0, signal: null, forced: false }],
      ]),
    );
    expect(isFixtureProcess(pids.get('web-v1-2')!)).toBe(false);
    expect(isFixtureProcess(pids.get('web-v1-3')!)).toBe(false);
    expect(existsSync(join(h.stateDir, 'instances', 'web-v1-2.json'))).toBe(false);
    expect(supervisor.versions()[0]).toMatchObject({ health: 'healthy', ready: 1, desired: 1 });
  });

  it('honours a slow graceful shutdown and lets in-flight requests finish', async () => {
    const { supervisor, events } = createHarness();
    await supervisor.apply([fixtureService('slow', [{ version: 'v1', instances: 1, env: { SLOW_SHUTDOWN_MS: '700' } }])]);
    const [instance] = await waitFor('ready', () => readyInstances(supervisor, 'slow').length === 1 && readyInstances(supervisor, 'slow'));
    const inFlight = httpGet(instance!.port, '/work?sleep=400');
    await waitFor('request in flight', async () =>
      (await httpGet(instance!.port, '/metrics')).body.includes('fixture_in_flight_requests 1'),
    );
    const began = Date.now();
    await supervisor.apply([fixtureService('slow', [{ version: 'v1', instances: 0 }])]);
    await waitFor('stopped', () => supervisor.instances().length === 0);
    expect(Date.now() - began).toBeGreaterThanOrEqual(600);
    expect((await inFlight).status).toBe(200);
    expect(events.find((e) => e.type === 'instance.stopped')?.data).toEqual({ code: 0, signal: null, forced: false });
  });

  it('sends SIGKILL when the grace period runs out', async () => {
    const { supervisor, events } = createHarness();
    const service = (instances: number) =>
      fixtureService('stuck', [{ version: 'v1', instances, env: { SLOW_SHUTDOWN_MS: '30000' } }], { shutdown: { gracePeriodMs: 300 } });
    await supervisor.apply([service(1)]);
    const [instance] = await waitFor(
      'ready',
      () => readyInstances(supervisor, 'stuck').length === 1 && readyInstances(supervisor, 'stuck'),
    );
    await supervisor.apply([service(0)]);
    await waitFor('stopped', () => events.some((e) => e.type === 'instance.stopped'));
    expect(events.find((e) => e.type === 'instance.stopped')?.data).toEqual({ code: null, signal: 'SIGKILL', forced: true });
    expect(isFixtureProcess(instance!.pid!)).toBe(false);
  });

  it('stop() drains and stops every instance and leaves no process behind', async () => {
    const { supervisor, drains, stateDir } = createHarness();
    await supervisor.apply([
      fixtureService('a', [{ version: 'v1', instances: 2 }]),
      fixtureService('b', [
        { version: 'v1', instances: 1 },
        { version: 'v2', instances: 1, env: { SLOW_SHUTDOWN_MS: '300' } },
      ]),
    ]);
    await waitFor('4 ready', () => supervisor.instances().filter((i) => i.state === 'ready').length === 4);
    const pids = supervisor.instances().map((i) => i.pid!);
    await supervisor.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(drains).toHaveLength(4);
    expect(supervisor.instances()).toEqual([]);
    expect(existsSync(join(stateDir, 'instances')) ? readdirSync(join(stateDir, 'instances')) : []).toEqual([]);
    await expect(supervisor.apply([])).rejects.toThrow(/stopped/);
  });

  it('removes a version that is no longer desired and keeps the others', async () => {
    const { supervisor } = createHarness();
    await supervisor.apply([
      fixtureService('web', [
        { version: 'v1', instances: 1 },
        { version: 'v2', instances: 1 },
      ]),
    ]);
    await waitFor('2 ready', () => readyInstances(supervisor, 'web').length === 2);
    const v1 = readyInstances(supervisor, 'web', 'v1')[0]!;
    await supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1 }])]);
    await waitFor('v2 gone', () => supervisor.versions().length === 1);
    expect(supervisor.versions()[0]).toMatchObject({ version: 'v1', health: 'healthy' });
    expect(readyInstances(supervisor, 'web', 'v1')[0]!.pid).toBe(v1.pid);
    expect([...supervisor.endpoints('web').keys()]).toEqual(['v1']);
  });

  it('stop() also ends instances that are still starting or waiting to restart', async () => {
    const { supervisor, events } = createHarness({ tuning: { backoffBaseMs: 30_000 } });
    await supervisor.apply([
      fixtureService('starting', [{ version: 'v1', instances: 1, env: { STARTUP_DELAY_MS: '30000' } }]),
      fixtureService('crashing', [{ version: 'v1', instances: 1, env: { CRASH_AFTER_REQUESTS: '1' } }]),
    ]);
    const crashing = await waitFor('ready', () => readyInstances(supervisor, 'crashing')[0]);
    await httpGet(crashing.port, '/boom');
    await waitFor('in backoff', () => supervisor.instances().find((i) => i.service === 'crashing' && i.state === 'backoff'));
    const starting = supervisor.instances().find((i) => i.service === 'starting')!;
    expect(starting.state).toBe('starting');
    await supervisor.stop();
    expect(isFixtureProcess(starting.pid!)).toBe(false);
    expect(supervisor.instances()).toEqual([]);
    expect(
      events
        .filter((e) => e.type === 'instance.stopped')
        .map((e) => e.instance)
        .sort(),
    ).toEqual(['crashing-v1-1', 'starting-v1-1']);
  });
});
