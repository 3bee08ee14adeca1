import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, fixtureServiceYaml, freePort, waitFor } from '../../src/testing/fleet.js';
import { runLoad } from '../../src/testing/load.js';

interface InstanceView {
  id: string;
  version: string;
  pid: number | null;
  state: string;
  restarts: number;
}
interface VersionView {
  version: string;
  weight: number;
  readyInstances: number;
  desiredInstances: number;
  health: string;
}

const serviceYaml = (port: number, instances = 2, env: Record<string, string> = {}) =>
  fixtureServiceYaml({ name: 'feed', team: 'web', port, instances, env, routing: '{ stickiness: { header: x-user }, timeoutSeconds: 5 }' });

/** Binomial bounds: within `sigmas` standard deviations of n·p. */
function withinBinomial(observed: number, n: number, p: number, sigmas = 4): boolean {
  const sd = Math.sqrt(n * p * (1 - p));
  return Math.abs(observed - n * p) <= sigmas * sd;
}

describe('runtime: control plane + agent + real instances', () => {
  const fleet = new Fleet();
  let port: number;
  let target: string;

  const instances = () => fleet.json<{ items: InstanceView[] }>('/api/v1/services/feed/instances').then((r) => r.items);
  const versions = () => fleet.json<{ items: VersionView[] }>('/api/v1/services/feed/versions').then((r) => r.items);
  const readyCount = async (version: string) => (await instances()).filter((i) => i.version === version && i.state === 'ready').length;

  beforeAll(async () => {
    await fleet.start();
    port = await freePort();
    target = `http://127.0.0.1:${port}/feed`;
    await fleet.apply(serviceYaml(port));
    await waitFor('two ready 1.0.0 instances', async () => (await readyCount('1.0.0')) === 2, 30_000);
  }, 90_000);
  afterAll(() => fleet.stop(), 60_000);

  it('serves through the router on the public port', async () => {
    const res = await fetch(target);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-opsdeck-version')).toBe('1.0.0');
    expect(((await res.json()) as { service: string }).service).toBe('feed');
  });

  it('splits 90/10 between two versions within binomial bounds, and sticky keys stay put', async () => {
    const created = await fleet.api('/api/v1/services/feed/releases', { method: 'POST', json: { version: '1.1.0' } });
    expect(created.status).toBe(201);
    await fleet.json('/api/v1/services/feed/scale', { method: 'POST', json: { version: '1.1.0', instances: 1 } });
    await fleet.json('/api/v1/services/feed/traffic', { method: 'PUT', json: { weights: { '1.0.0': 90, '1.1.0': 10 } } });
    await waitFor('1.1.0 ready', async () => (await readyCount('1.1.0')) === 1, 30_000);
    await waitFor('the agent to apply the weights', async () => {
      const r = await runLoad(target, { count: 200 });
      return (r.versions.get('1.1.0') ?? 0) > 0;
    });

    const load = await runLoad(target, { count: 5000, concurrency: 16 });
    expect(load.failures).toBe(0);
    expect(withinBinomial(load.versions.get('1.1.0') ?? 0, 5000, 0.1)).toBe(true);

    const sticky = await runLoad(target, { count: 600, headers: (i) => ({ 'x-user': `user-${i % 30}` }) });
    expect(sticky.failures).toBe(0);
    const byUser = new Map<string, Set<string>>();
    // Re-run sequentially per user to read each answer's version.
    for (let u = 0; u < 30; u++) {
      for (let k = 0; k < 5; k++) {
        const res = await fetch(target, { headers: { 'x-user': `user-${u}` } });
        await res.arrayBuffer();
        const set = byUser.get(`user-${u}`) ?? new Set<string>();
        set.add(res.headers.get('x-opsdeck-version') ?? '?');
        byUser.set(`user-${u}`, set);
      }
    }
    for (const set of byUser.values()) expect(set.size).toBe(1);

    const direct = await fetch(target, { headers: { 'x-opsdeck-version': '1.1.0' } });
    expect(direct.headers.get('x-opsdeck-version')).toBe('1.1.0');
    await direct.arrayBuffer();
  });

  it('replaces a killed instance and sends it no traffic until it is ready', async () => {
    const before = (await instances()).filter((i) => i.version === '1.0.0' && i.state === 'ready');
    expect(before).toHaveLength(2);
    let stop = false;
    const load = runLoad(target, { until: () => stop, concurrency: 4, headers: () => ({ 'x-opsdeck-version': '1.0.0' }) });
    const kill = await fleet.api('/api/v1/services/feed/instances/kill', { method: 'POST', json: { version: '1.0.0', count: 1 } });
    expect(kill.status).toBe(201);
    const replaced = await waitFor(
      'a killed 1.0.0 instance to be restarted and ready',
      async () => {
        const now = (await instances()).filter((i) => i.version === '1.0.0');
        const restarted = now.find((i) => i.restarts > 0 && i.state === 'ready');
        return restarted && now.filter((i) => i.state === 'ready').length === 2 ? restarted : undefined;
      },
      30_000,
    );
    stop = true;
    const result = await load;
    expect(replaced.pid).not.toBe(before.find((b) => b.id === replaced.id)?.pid);
    // Requests in flight on the killed instance fail; the router retries idempotent ones elsewhere.
    expect(result.failures).toBe(0);
    const changes = await fleet.json<{ items: { type: string }[] }>('/api/v1/changes?service=feed&limit=200');
    const types = changes.items.map((c) => c.type);
    expect(types).toContain('runtime.instance.killed');
    expect(types).toContain('runtime.instance.ready');
  });

  it('scales down under load without dropping a request', async () => {
    await fleet.json('/api/v1/services/feed/scale', { method: 'POST', json: { version: '1.0.0', instances: 3 } });
    await waitFor('three ready 1.0.0 instances', async () => (await readyCount('1.0.0')) === 3, 30_000);
    let stop = false;
    const load = runLoad(`${target}?sleep=20`, { until: () => stop, concurrency: 8, headers: () => ({ 'x-opsdeck-version': '1.0.0' }) });
    await new Promise((r) => setTimeout(r, 300));
    await fleet.json('/api/v1/services/feed/scale', { method: 'POST', json: { version: '1.0.0', instances: 1 } });
    await waitFor(
      'one 1.0.0 instance left',
      async () => (await instances()).filter((i) => i.version === '1.0.0' && i.state !== 'stopped').length === 1,
      30_000,
    );
    stop = true;
    const result = await load;
    expect(result.sent).toBeGreaterThan(50);
    expect(result.failures).toBe(0);
  });

  it('injects faults at the configured rate and removes them after the TTL', async () => {
    const res = await fleet.api('/api/v1/services/feed/faults', {
      method: 'POST',
      json: { kind: 'status', status: 503, percent: 30, ttlSeconds: 4 },
    });
    expect(res.status).toBe(201);
    await waitFor('the fault to reach the router', async () => {
      const r = await runLoad(target, { count: 50 });
      return (r.outcomes.get('503') ?? 0) > 0;
    });
    const during = await runLoad(target, { count: 1000, concurrency: 8 });
    const injected = during.outcomes.get('503') ?? 0;
    expect(withinBinomial(injected, 1000, 0.3)).toBe(true);
    await waitFor('the fault to expire', async () => (await runLoad(target, { count: 200 })).failures === 0, 15_000);
    await waitFor(
      'the control plane to drop the expired fault',
      async () => (await fleet.json<{ items: unknown[] }>('/api/v1/services/feed/faults')).items.length === 0,
      15_000,
    );
  });

  it('keeps serving through a kill -9 of the control plane, and reconciles when it returns', async () => {
    let stop = false;
    const load = runLoad(target, { until: () => stop, concurrency: 8 });
    await new Promise((r) => setTimeout(r, 300));
    await Fleet.kill9(fleet.server);
    await new Promise((r) => setTimeout(r, 1500));
    await fleet.startServer();
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    const result = await load;
    expect(result.sent).toBeGreaterThan(100);
    expect(result.failures).toBe(0);
    await waitFor('the agent to report to the restarted control plane', async () => (await readyCount('1.0.0')) >= 1, 20_000);
  });

  it('restores the fleet after the agent restarts', async () => {
    const before = (await instances())
      .filter((i) => i.state === 'ready')
      .map((i) => i.pid)
      .sort();
    await Fleet.kill9(fleet.agent);
    await fleet.startAgent();
    await waitFor('traffic through the router again', async () => (await fetch(target)).status === 200, 20_000);
    const after = await waitFor(
      'the restarted agent to report its fleet',
      async () => {
        const v = await versions();
        const ok = v.filter((x) => x.desiredInstances > 0).every((x) => x.readyInstances === x.desiredInstances);
        return ok
          ? (await instances())
              .filter((i) => i.state === 'ready')
              .map((i) => i.pid)
              .sort()
          : undefined;
      },
      30_000,
    );
    // Adopted, not restarted: the same processes keep serving.
    expect(after).toEqual(before);
  });
});
