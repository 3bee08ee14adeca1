import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '../../agent/protocol.js';
import type { DomainEvent } from '../../core/events/events.js';
import { DIALECTS } from '../../testing/databases.js';
import { startTestServer, type TestServer } from '../../testing/server.js';
import type { RuntimeApi } from './index.js';
import type { Release } from './runtime.store.js';
import {
  apply,
  createToken,
  desired,
  feedRuntime,
  json,
  postReport,
  report,
  revisionAfter,
  serviceDoc,
  synced,
  TEAM,
} from './runtime.test-support.js';
import type { VersionView } from './views.js';

type ErrorBody = { error: { code: string; message: string; details?: { issues?: { pointer: string; message: string }[] } } };

describe.each(DIALECTS)('runtime control plane on %s', (dialect) => {
  let server: TestServer;
  let agent: string;
  let viewer: string;

  beforeAll(async () => {
    server = await startTestServer({ dialect });
    agent = await createToken(server, 'agent-1', 'agent');
    viewer = await createToken(server, 'reader', 'viewer');
    expect((await apply(server, TEAM)).status).toBe(200);
  });
  afterAll(() => server?.destroy());

  const versions = async (service: string) =>
    (await json<{ items: VersionView[] }>(server.request(`/api/v1/services/${service}/versions`))).body.items;
  const events = async (service: string) =>
    (await json<{ items: DomainEvent[] }>(server.request(`/api/v1/events?service=${service}&types=runtime.*&limit=1000`))).body.items;
  const put = (service: string, weights: Record<string, number>) =>
    json<ErrorBody & { items: VersionView[] }>(server.request(`/api/v1/services/${service}/traffic`, { method: 'PUT', json: { weights } }));
  const scale = (service: string, body: Record<string, unknown>) =>
    json<ErrorBody & { items: VersionView[] }>(server.request(`/api/v1/services/${service}/scale`, { method: 'POST', json: body }));
  const release = (service: string, body: Record<string, unknown>) =>
    json<ErrorBody & Release>(server.request(`/api/v1/services/${service}/releases`, { method: 'POST', json: body }));

  it('brings a service up from apply alone: an initial release with all traffic and spec.runtime.instances', async () => {
    const before = (await desired(server, agent)).revision;
    const res = await apply(server, serviceDoc('feed', feedRuntime(), { 'opsdeck.dev/version': '1.0.0' }));
    expect(res.status).toBe(200);
    const state = await revisionAfter(server, before, agent);
    const feed = state.services.find((s) => s.name === 'feed')!;
    expect(feed).toEqual({
      name: 'feed',
      port: 18080,
      healthCheck: { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3 },
      shutdown: { signal: 'SIGTERM', gracePeriodMs: 30_000 },
      routing: { timeoutMs: 30_000, outlier: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 } },
      versions: [
        {
          version: '1.0.0',
          weight: 100,
          instances: 2,
          process: { command: 'node', args: ['server.js'], cwd: resolve(process.cwd(), 'examples/feed-app'), env: { LOG_LEVEL: 'info' } },
        },
      ],
    });
    // The spec keeps the relative path as written.
    const stored = await json<{ spec: { runtime: { cwd: string } } }>(server.request('/api/v1/resources/Service/feed'));
    expect(stored.body.spec.runtime.cwd).toBe('examples/feed-app');

    const releases = (await json<{ items: Release[] }>(server.request('/api/v1/services/feed/releases'))).body.items;
    expect(releases).toEqual([expect.objectContaining({ version: '1.0.0', state: 'active', createdBy: 'admin', failedReason: null })]);
    const created = (await events('feed')).filter((e) => e.type === 'runtime.release.created');
    expect(created).toEqual([expect.objectContaining({ service: 'feed', change: true, subject: 'feed@1.0.0' })]);
    expect(await versions('feed')).toEqual([
      expect.objectContaining({ version: '1.0.0', weight: 100, desiredInstances: 2, readyInstances: 0, health: 'unknown' }),
    ]);

    // Re-applying the same document is unchanged and bumps nothing.
    const revision = (await desired(server, agent)).revision;
    await apply(server, serviceDoc('feed', feedRuntime(), { 'opsdeck.dev/version': '1.0.0' }));
    await server.core.events.dispatch();
    expect((await server.request(`/api/v1/agent/desired-state?ifNewerThan=${revision}`, { token: agent })).status).toBe(204);
  });

  it("names an unannotated service's first release 0.0.0 and fills runtime defaults; seed-style overrides are kept", async () => {
    const runtime = {
      kind: 'process',
      command: './bin/search',
      port: 18081,
      shutdown: { gracePeriodSeconds: 60 },
      healthCheck: { path: '/ready', intervalSeconds: 5 },
      routing: { stickiness: { header: 'x-user' }, timeoutSeconds: 2.5, outlier: { consecutiveFailures: 3 } },
    };
    expect((await apply(server, serviceDoc('search', runtime))).status).toBe(200);
    await synced(server, 'search');
    const search = (await desired(server, agent)).services.find((s) => s.name === 'search')!;
    expect(search.versions).toEqual([expect.objectContaining({ version: '0.0.0', weight: 100, instances: 1 })]);
    expect(search.versions[0]!.process).toEqual({ command: './bin/search', args: [], cwd: process.cwd(), env: {} });
    expect(search.shutdown).toEqual({ signal: 'SIGTERM', gracePeriodMs: 60_000 });
    expect(search.healthCheck).toEqual({ path: '/ready', intervalMs: 5000, timeoutMs: 1000, failureThreshold: 3 });
    expect(search.routing).toEqual({
      stickiness: { header: 'x-user' },
      timeoutMs: 2500,
      outlier: { consecutiveFailures: 3, baseEjectionMs: 30_000, maxEjectionPercent: 50 },
    });
  });

  it('refuses a second service on the same port, naming the other one, and bad runtime sections field by field', async () => {
    const clash = await json<ErrorBody>(apply(server, serviceDoc('clash', feedRuntime())));
    expect(clash.status).toBe(400);
    expect(clash.body.error.details?.issues).toEqual([
      { document: 0, pointer: '/spec/runtime/port', message: "port 18080 is already the router port of Service 'feed'" },
    ]);
    // Two new services in one batch: each names the other.
    const batch = await json<ErrorBody>(
      apply(server, serviceDoc('a1', feedRuntime({ port: 18090 })), serviceDoc('a2', feedRuntime({ port: 18090 }))),
    );
    expect(batch.body.error.details?.issues?.map((i) => i.message)).toEqual([
      "port 18090 is already the router port of Service 'a2'",
      "port 18090 is already the router port of Service 'a1'",
    ]);
    const bad = await json<ErrorBody>(
      apply(
        server,
        serviceDoc(
          'bad',
          { kind: 'process', command: '', port: 70000, instance: 2, env: { 'BAD-KEY': 'x' } },
          { 'opsdeck.dev/version': 'no spaces' },
        ),
      ),
    );
    expect(bad.body.error.details?.issues?.map((i) => i.pointer).sort()).toEqual([
      '/spec/runtime/command',
      '/spec/runtime/env/BAD-KEY',
      '/spec/runtime/instance',
      '/spec/runtime/port',
    ]);
    const annotation = await json<ErrorBody>(
      apply(server, serviceDoc('bad', feedRuntime({ port: 18099 }), { 'opsdeck.dev/version': 'no spaces' })),
    );
    expect(annotation.body.error.details?.issues).toEqual([
      expect.objectContaining({
        pointer: '/metadata/annotations/opsdeck.dev~1version',
        message: expect.stringContaining("got 'no spaces'"),
      }),
    ]);
  });

  it('creates releases with overrides, refuses duplicates, unknown services and services without a runtime', async () => {
    const created = await release('feed', {
      version: '1.1.0',
      set: { 'env.LOG_LEVEL': 'debug', command: 'node20' },
      artifact: '/srv/feed/1.1.0',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      version: '1.1.0',
      state: 'active',
      overrides: { env: { LOG_LEVEL: 'debug' }, command: 'node20', artifact: '/srv/feed/1.1.0' },
    });
    expect((await release('feed', { version: '1.1.0' })).status).toBe(409);
    const badSet = await release('feed', { version: '1.2.0', set: { 'args.0': 'x' } });
    expect(badSet.status).toBe(400);
    expect(badSet.body.error.details?.issues?.[0]?.pointer).toBe('/set/args.0');
    const badVersion = await release('feed', { version: '-1' });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.error.details?.issues?.[0]?.pointer).toBe('/version');
    const unknown = await release('nope', { version: '1.0.0' });
    expect(unknown).toMatchObject({ status: 404, body: { error: { message: "Service 'nope' does not exist" } } });
    await apply(server, serviceDoc('plain', undefined));
    expect((await release('plain', { version: '1.0.0' })).status).toBe(409);
    expect((await json(server.request('/api/v1/services/nope/releases'))).status).toBe(404);

    const list = (await json<{ items: Release[] }>(server.request('/api/v1/services/feed/releases'))).body.items;
    expect(list.map((r) => r.version)).toEqual(['1.0.0', '1.1.0']);
    // A new release runs nothing yet.
    const feed = (await desired(server, agent)).services.find((s) => s.name === 'feed')!;
    expect(feed.versions.map((v) => v.version)).toEqual(['1.0.0']);
  });

  it('validates weights: the sum, the 0.1 grid, known versions and instances to take the traffic', async () => {
    const sum = await put('feed', { '1.0.0': 90, '1.1.0': 5 });
    expect(sum.status).toBe(400);
    expect(sum.body.error.details?.issues).toEqual([{ pointer: '/weights', message: 'weights must sum to 100 (got 95)' }]);
    const grid = await put('feed', { '1.0.0': 66.67, '1.1.0': 33.33 });
    expect(grid.status).toBe(400);
    expect(grid.body.error.details?.issues?.map((i) => i.pointer)).toEqual(['/weights/1.0.0', '/weights/1.1.0']);
    const unknown = await put('feed', { '1.0.0': 90, '9.9.9': 10 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe("Service 'feed' has no version '9.9.9'; known versions: 1.0.0, 1.1.0");
    const idle = await put('feed', { '1.0.0': 90, '1.1.0': 10 });
    expect(idle.status).toBe(409);
    expect(idle.body.error.message).toContain('opsdeck scale feed --version 1.1.0 --instances 1');
    expect((await json(server.request('/api/v1/services/feed/traffic', { method: 'PUT', json: { weights: {} } }))).status).toBe(400);
  });

  it('scales and splits traffic; each change is audited, on the timeline and a new revision', async () => {
    const r0 = (await desired(server, agent)).revision;
    const scaled = await scale('feed', { version: '1.1.0', instances: 1 });
    expect(scaled.status).toBe(200);
    expect(scaled.body.items.find((v) => v.version === '1.1.0')).toMatchObject({ desiredInstances: 1, weight: 0 });
    const r1 = (await desired(server, agent)).revision;
    expect(r1).toBeGreaterThan(r0);

    const split = await put('feed', { '1.0.0': 90, '1.1.0': 10 });
    expect(split.status).toBe(200);
    expect(split.body.items.map((v) => [v.version, v.weight, v.desiredInstances])).toEqual([
      ['1.0.0', 90, 2],
      ['1.1.0', 10, 1],
    ]);
    const state = await desired(server, agent);
    expect(state.revision).toBeGreaterThan(r1);
    const feed = state.services.find((s) => s.name === 'feed')!;
    expect(feed.versions.map((v) => [v.version, v.weight, v.instances])).toEqual([
      ['1.0.0', 90, 2],
      ['1.1.0', 10, 1],
    ]);
    expect(feed.versions[1]!.process).toEqual({
      command: 'node20',
      args: ['server.js'],
      cwd: '/srv/feed/1.1.0',
      env: { LOG_LEVEL: 'debug' },
    });
    // The same split again changes nothing.
    await put('feed', { '1.0.0': 90, '1.1.0': 10 });
    expect((await desired(server, agent)).revision).toBe(state.revision);

    const timeline = await events('feed');
    expect(timeline.find((e) => e.type === 'runtime.weights.changed')).toMatchObject({
      change: true,
      service: 'feed',
      actor: 'admin',
      data: { weights: { '1.0.0': 90, '1.1.0': 10 }, previous: { '1.0.0': 100 } },
    });
    expect(timeline.find((e) => e.type === 'runtime.version.scaled')).toMatchObject({
      data: { version: '1.1.0', instances: 1, previous: 0 },
    });
    expect(timeline.filter((e) => e.type === 'runtime.weights.changed')).toHaveLength(1);
    const audit = await json<{ items: { action: string; target: string }[] }>(server.request('/api/v1/audit?action=runtime.'));
    expect(audit.body.items.map((a) => a.action)).toEqual(expect.arrayContaining(['runtime.weights.changed', 'runtime.version.scaled']));

    // Default version: the one with the most traffic. A version with traffic cannot go to 0.
    expect((await scale('feed', { instances: 3 })).body.items.find((v) => v.version === '1.0.0')?.desiredInstances).toBe(3);
    const drained = await scale('feed', { version: '1.1.0', instances: 0 });
    expect(drained.status).toBe(409);
    expect(drained.body.error.message).toContain('takes 10% of traffic');
    expect((await scale('feed', { version: '7.0.0', instances: 1 })).status).toBe(404);
  });

  it('re-scales the primary version when spec.runtime.instances is applied again, as kubectl apply does', async () => {
    const r = (await desired(server, agent)).revision;
    await apply(server, serviceDoc('feed', feedRuntime({ instances: 4 }), { 'opsdeck.dev/version': '1.0.0' }));
    const state = await revisionAfter(server, r, agent);
    expect(state.services.find((s) => s.name === 'feed')!.versions.map((v) => [v.version, v.instances])).toEqual([
      ['1.0.0', 4],
      ['1.1.0', 1],
    ]);
  });

  it('mirrors a share of requests to a version, and stops', async () => {
    const set = await json<{ mirror: unknown }>(
      server.request('/api/v1/services/feed/mirror', { method: 'POST', json: { version: '1.1.0', percent: 5 } }),
    );
    expect(set.body.mirror).toEqual({ version: '1.1.0', percent: 5 });
    expect((await desired(server, agent)).services.find((s) => s.name === 'feed')!.routing.mirror).toEqual({
      version: '1.1.0',
      percent: 5,
    });
    expect((await versions('feed')).find((v) => v.version === '1.1.0')?.mirrorPercent).toBe(5);
    const cleared = await json<{ mirror: unknown }>(
      server.request('/api/v1/services/feed/mirror', { method: 'POST', body: 'null', headers: { 'content-type': 'application/json' } }),
    );
    expect(cleared.body.mirror).toBeNull();
    expect((await desired(server, agent)).services.find((s) => s.name === 'feed')!.routing.mirror).toBeUndefined();
  });

  it('answers 204 to ifNewerThan at the current revision and publishes runtime.desired.changed on each bump', async () => {
    const { revision } = await desired(server, agent);
    expect((await server.request(`/api/v1/agent/desired-state?ifNewerThan=${revision}`, { token: agent })).status).toBe(204);
    expect((await server.request(`/api/v1/agent/desired-state?ifNewerThan=${revision - 1}`, { token: agent })).status).toBe(200);
    await scale('feed', { version: '1.0.0', instances: 2 });
    const next = await desired(server, agent);
    expect(next.revision).toBeGreaterThan(revision);
    const bumps = await json<{ items: DomainEvent[] }>(server.request(`/api/v1/events?types=runtime.desired.changed&limit=1000`));
    expect(bumps.body.items.at(-1)).toMatchObject({ change: false, data: { revision: next.revision } });
  });

  it('keeps agent routes for agent (and admin) tokens and the rest for people', async () => {
    const asViewer = await server.request('/api/v1/agent/desired-state', { token: viewer });
    expect(asViewer.status).toBe(403);
    expect((await server.request('/api/v1/agent/report', { method: 'POST', json: report(), token: viewer })).status).toBe(403);
    expect((await server.request('/api/v1/agent/watch', { token: viewer })).status).toBe(403);
    expect((await server.request('/api/v1/services/feed/versions', { token: agent })).status).toBe(403);
    expect((await server.request('/api/v1/services/feed/versions', { token: viewer })).status).toBe(200);
    expect((await server.request('/api/v1/agent/desired-state')).status).toBe(200);
    expect((await server.request('/api/v1/services/feed/scale', { method: 'POST', json: { instances: 1 }, token: viewer })).status).toBe(
      403,
    );
  });

  it('puts a kill action in desired state once, and drops it when an agent reports it done', async () => {
    const kill = await json<{ id: string; type: string; count: number }>(
      server.request('/api/v1/services/feed/instances/kill', { method: 'POST', json: { count: 1, version: '1.0.0' } }),
    );
    expect(kill.status).toBe(201);
    const state = await desired(server, agent);
    expect(state.actions).toEqual([{ id: kill.body.id, type: 'kill', service: 'feed', version: '1.0.0', count: 1 }]);
    expect((await events('feed')).some((e) => e.type === 'runtime.instances.kill-requested' && e.change)).toBe(true);
    const done = await postReport(server, report({ actionsDone: [kill.body.id] }), agent);
    expect(done.status).toBe(200);
    expect(done.body.revision).toBeGreaterThan(state.revision);
    const after = await desired(server, agent);
    expect(after.actions).toEqual([]);
    expect(after.revision).toBe(done.body.revision);
    expect(
      (await server.request('/api/v1/services/feed/instances/kill', { method: 'POST', json: { count: 1, version: 'x9' } })).status,
    ).toBe(404);
  });

  it('offers the same operations to other modules through its narrow API', async () => {
    const api = server.modules.runtime as RuntimeApi;
    const actor = { kind: 'system' as const, name: 'delivery', role: 'admin' as const };
    await api.createRelease({ service: 'feed', version: '1.2.0', actor });
    await api.scale({ service: 'feed', version: '1.2.0', instances: 1, actor });
    const after = await api.setWeights('feed', { '1.0.0': 50, '1.2.0': 50 }, actor);
    expect(after.map((v) => [v.version, v.weight])).toEqual([
      ['1.0.0', 50],
      ['1.1.0', 0],
      ['1.2.0', 50],
    ]);
    await api.scale({ service: 'feed', version: '1.1.0', instances: 0, actor });
    await expect(api.retireRelease({ service: 'feed', version: '1.2.0', actor })).rejects.toMatchObject({ status: 409 });
    expect(await api.retireRelease({ service: 'feed', version: '1.1.0', actor })).toMatchObject({ state: 'retired' });
    await expect(api.scale({ service: 'feed', version: '1.1.0', instances: 1, actor })).rejects.toMatchObject({ status: 409 });
    expect((await api.desiredState()).services.find((s) => s.name === 'feed')!.versions.map((v) => v.version)).toEqual(['1.0.0', '1.2.0']);
  });

  it('forgets a deleted service: it leaves desired state with its releases', async () => {
    await apply(server, serviceDoc('gone', feedRuntime({ port: 18100 })));
    await synced(server, 'gone');
    const { revision } = await desired(server, agent);
    expect((await server.request('/api/v1/resources/Service/gone', { method: 'DELETE' })).status).toBe(200);
    const state: DesiredState = await revisionAfter(server, revision, agent);
    expect(state.services.map((s) => s.name)).not.toContain('gone');
    expect((await json<{ items: unknown[] }>(server.request('/api/v1/services/gone/releases'))).status).toBe(404);
    // Its port is free again.
    expect((await apply(server, serviceDoc('again', feedRuntime({ port: 18100 })))).status).toBe(200);
  });
});
