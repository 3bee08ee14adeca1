import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DesiredFault } from '../../agent/protocol.js';
import { FakeClock } from '../../core/clock.js';
import type { DomainEvent } from '../../core/events/events.js';
import { DIALECTS } from '../../testing/databases.js';
import { startTestServer, type TestServer } from '../../testing/server.js';
import { apply, createToken, desired, feedRuntime, json, serviceDoc, synced, TEAM } from './runtime.test-support.js';

type ErrorBody = { error: { message: string; details?: { issues?: { pointer: string; message: string }[] } } };

describe.each(DIALECTS)('faults on %s', (dialect) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    // The last server owns the store; earlier ones are closed already.
    await servers.pop()?.destroy();
    servers.length = 0;
  });

  async function start(clock: FakeClock, store?: TestServer['store']): Promise<TestServer> {
    const server = await startTestServer({ dialect, clock, store });
    servers.push(server);
    return server;
  }

  async function withFeed(clock: FakeClock): Promise<TestServer> {
    const server = await start(clock);
    await apply(server, TEAM, serviceDoc('feed', feedRuntime(), { 'opsdeck.dev/version': '1.0.0' }));
    await synced(server, 'feed');
    return server;
  }

  const addFault = (server: TestServer, body: Record<string, unknown>) =>
    json<DesiredFault & ErrorBody>(server.request('/api/v1/services/feed/faults', { method: 'POST', json: body }));
  const faults = async (server: TestServer) =>
    (await json<{ items: DesiredFault[] }>(server.request('/api/v1/services/feed/faults'))).body.items;
  const events = async (server: TestServer, type: string) =>
    (await json<{ items: DomainEvent[] }>(server.request(`/api/v1/events?types=${type}&limit=1000`))).body.items;

  it('validates faults kind by kind', async () => {
    const server = await withFeed(new FakeClock());
    const noLatency = await addFault(server, { kind: 'latency', percent: 10, ttlSeconds: 60 });
    expect(noLatency.status).toBe(400);
    expect(noLatency.body.error.details?.issues).toEqual([{ pointer: '/latencyMs', message: "a latency fault needs 'latencyMs'" }]);
    const mixed = await addFault(server, { kind: 'abort', status: 503, percent: 10, ttlSeconds: 60 });
    expect(mixed.body.error.details?.issues).toEqual([{ pointer: '/status', message: "an abort fault does not take 'status'" }]);
    const grid = await addFault(server, { kind: 'status', status: 503, percent: 10.05, ttlSeconds: 60 });
    expect(grid.body.error.details?.issues?.[0]?.pointer).toBe('/percent');
    expect((await addFault(server, { kind: 'status', status: 503, percent: 0, ttlSeconds: 60 })).status).toBe(400);
    expect((await addFault(server, { kind: 'status', status: 200, percent: 10, ttlSeconds: 60 })).status).toBe(400);
    const unknownVersion = await addFault(server, { kind: 'abort', version: '2.0.0', percent: 10, ttlSeconds: 60 });
    expect(unknownVersion.status).toBe(404);
    expect(unknownVersion.body.error.message).toContain('known versions: 1.0.0');
  });

  it('puts a fault in desired state until its durable timer removes it at expiry', async () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const server = await withFeed(clock);
    const agent = await createToken(server, 'agent-1', 'agent');
    const added = await addFault(server, { kind: 'latency', latencyMs: 200, jitterMs: 50, percent: 10, ttlSeconds: 300, version: '1.0.0' });
    expect(added.status).toBe(201);
    const fault = {
      id: added.body.id,
      service: 'feed',
      version: '1.0.0',
      kind: 'latency',
      percent: 10,
      latencyMs: 200,
      jitterMs: 50,
      expiresAt: clock.now() + 300_000,
    };
    expect(added.body).toMatchObject(fault);
    const before = await desired(server, agent);
    expect(before.faults).toEqual([fault]);
    expect(await faults(server)).toEqual([expect.objectContaining(fault)]);
    expect(await events(server, 'runtime.fault.added')).toEqual([expect.objectContaining({ change: true, service: 'feed' })]);

    clock.advance(299_000);
    expect(await server.core.jobs.runDue()).toBe(0);
    expect((await desired(server, agent)).faults).toHaveLength(1);
    // The worker's own timer may claim it first; either way it runs once.
    clock.advance(1_000);
    await vi.waitFor(
      async () => {
        await server.core.jobs.runDue();
        expect(await events(server, 'runtime.fault.expired')).toHaveLength(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    const after = await desired(server, agent);
    expect(after.faults).toEqual([]);
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(await events(server, 'runtime.fault.expired')).toEqual([
      expect.objectContaining({ change: true, service: 'feed', subject: `fault/${fault.id}`, actor: 'system' }),
    ]);
  });

  it('expires a fault whose time ran out while the server was down', async () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const first = await withFeed(clock);
    const added = await addFault(first, { kind: 'status', status: 503, percent: 50, ttlSeconds: 60 });
    expect(added.status).toBe(201);
    const revision = (await desired(first)).revision;
    await first.close(2000);

    clock.advance(10 * 60_000);
    const second = await start(clock, first.store);
    // Past its expiry it is out of desired state at once; the job (run by the worker on start, or
    // here) removes it for good and bumps the revision.
    expect((await desired(second)).faults).toEqual([]);
    await vi.waitFor(
      async () => {
        await second.core.jobs.runDue();
        expect(await events(second, 'runtime.fault.expired')).toHaveLength(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    expect((await events(second, 'runtime.fault.expired')).map((e) => e.subject)).toEqual([`fault/${added.body.id}`]);
    expect(await faults(second)).toEqual([]);
    expect((await desired(second)).revision).toBeGreaterThan(revision);
  });

  it('clears one fault or all of them, cancelling their timers', async () => {
    const clock = new FakeClock();
    const server = await withFeed(clock);
    const a = await addFault(server, { kind: 'abort', percent: 1, ttlSeconds: 60 });
    const b = await addFault(server, { kind: 'status', status: 500, percent: 2.5, ttlSeconds: 60 });
    const one = await json<{ items: DesiredFault[] }>(server.request(`/api/v1/services/feed/faults/${a.body.id}`, { method: 'DELETE' }));
    expect(one.body.items.map((f) => f.id)).toEqual([a.body.id]);
    expect((await faults(server)).map((f) => f.id)).toEqual([b.body.id]);
    expect((await server.request(`/api/v1/services/feed/faults/${a.body.id}`, { method: 'DELETE' })).status).toBe(404);
    const all = await json<{ items: DesiredFault[] }>(server.request('/api/v1/services/feed/faults', { method: 'DELETE' }));
    expect(all.body.items.map((f) => [f.id, f.percent])).toEqual([[b.body.id, 2.5]]);
    expect(await faults(server)).toEqual([]);
    expect((await events(server, 'runtime.fault.cleared')).map((e) => e.subject)).toEqual([`fault/${a.body.id}`, `fault/${b.body.id}`]);
    clock.advance(120_000);
    expect(await server.core.jobs.runDue()).toBe(0);
    expect(await events(server, 'runtime.fault.expired')).toEqual([]);
  });
});
