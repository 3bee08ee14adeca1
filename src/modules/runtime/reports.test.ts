import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentReport, type InstanceStatus, LATENCY_BUCKETS_MS, type VersionTraffic } from '../../agent/protocol.js';
import type { DomainEvent } from '../../core/events/events.js';
import { DIALECTS } from '../../testing/databases.js';
import { startTestServer, type TestServer } from '../../testing/server.js';
import { readSseUntil } from '../../testing/sse.js';
import type { Release } from './runtime.store.js';
import { apply, createToken, feedRuntime, json, postReport, report, serviceDoc, synced, TEAM } from './runtime.test-support.js';
import type { ServiceStats } from './stats.js';
import type { InstanceView, VersionView } from './views.js';

/** A stand-in for the agent's own API: /logs as the control plane calls it, checking the token. */
async function fakeAgentApi(token: string): Promise<{ url: string; server: Server; queries: URLSearchParams[] }> {
  const queries: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'agent token required' } }));
      return;
    }
    queries.push(url.searchParams);
    const line = (seq: number, text: string) => ({
      seq,
      at: 1,
      service: 'feed',
      version: '1.0.0',
      instance: 'feed-1.0.0-1',
      stream: 'stdout',
      line: text,
    });
    if (url.searchParams.get('follow') !== 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [line(1, 'hello'), line(2, 'world')] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${JSON.stringify(line(1, 'first'))}\n`);
    setTimeout(() => res.write(`${JSON.stringify(line(2, 'second'))}\n`), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, queries };
}

const instance = (id: string, state: InstanceStatus['state'], startedAt: number): InstanceStatus => ({
  id,
  service: 'feed',
  version: '1.0.0',
  pid: 4000 + Number(id.at(-1)),
  port: 30000 + Number(id.at(-1)),
  state,
  restarts: state === 'ready' ? 0 : 2,
  startedAt,
  readyAt: state === 'ready' ? startedAt + 100 : null,
  lastExit: null,
});

/** `n` requests, all in the latency bucket whose upper bound is `ms`. */
function traffic(version: string, from: number, to: number, n: number, ms: number, errors = 0): VersionTraffic {
  const latencyBuckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencyBuckets[LATENCY_BUCKETS_MS.indexOf(ms)] = n;
  return { service: 'feed', version, from, to, requests: n, byClass: { '2xx': n - errors, '5xx': errors }, latencyBuckets };
}

describe.each(DIALECTS)('agent reports on %s', (dialect) => {
  let server: TestServer;
  let agentToken: string;
  let fake: Awaited<ReturnType<typeof fakeAgentApi>>;

  beforeAll(async () => {
    server = await startTestServer({ dialect });
    agentToken = await createToken(server, 'agent-1', 'agent');
    fake = await fakeAgentApi(agentToken);
    await apply(server, TEAM, serviceDoc('feed', feedRuntime(), { 'opsdeck.dev/version': '1.0.0' }));
    await synced(server, 'feed');
  });
  afterAll(async () => {
    fake?.server.close();
    await server?.destroy();
  });

  const runtimeEvents = async (type: string) =>
    (await json<{ items: DomainEvent[] }>(server.request(`/api/v1/events?types=${type}&limit=1000`))).body.items;

  it('answers logs with 503 while no agent has reported', async () => {
    const res = await json<{ error: { code: string; message: string } }>(server.request('/api/v1/services/feed/logs'));
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(/no agent has reported in the last 30 s/);
    expect((await server.request('/api/v1/services/nope/logs')).status).toBe(404);
  });

  it('ingests status, events and traffic once however often a report is retried', async () => {
    const now = Date.now();
    const body: AgentReport = report({
      agentUrl: fake.url,
      instances: [instance('feed-1.0.0-1', 'ready', now - 60_000), instance('feed-1.0.0-2', 'backoff', now - 5_000)],
      versions: [{ service: 'feed', version: '1.0.0', health: 'progressing', ready: 1, desired: 2 }],
      events: [
        { id: 'e1', type: 'instance.started', at: now, service: 'feed', version: '1.0.0', instance: 'feed-1.0.0-2', data: { pid: 4002 } },
        { id: 'e2', type: 'version.failed', at: now, service: 'feed', version: '1.0.0', data: { reason: 'exited 1: ENOENT server.js' } },
      ],
      traffic: [traffic('1.0.0', now - 10_000, now - 5_000, 90, 10), traffic('1.0.0', now - 5_000, now, 10, 100, 5)],
    });
    const first = await postReport(server, body, agentToken);
    expect(first).toMatchObject({ status: 200, body: { ok: true } });
    expect((await postReport(server, body, agentToken)).status).toBe(200);

    const started = await runtimeEvents('runtime.instance.started');
    expect(started).toEqual([
      expect.objectContaining({
        service: 'feed',
        change: true,
        subject: 'instance/feed-1.0.0-2',
        data: expect.objectContaining({ agentId: 'agent-1', eventId: 'e1', version: '1.0.0', details: { pid: 4002 } }),
      }),
    ]);
    expect(await runtimeEvents('runtime.version.failed')).toHaveLength(1);
    const releases = (await json<{ items: Release[] }>(server.request('/api/v1/services/feed/releases'))).body.items;
    expect(releases[0]).toMatchObject({ version: '1.0.0', failedReason: 'exited 1: ENOENT server.js', failedAt: now });

    const instances = (await json<{ items: InstanceView[] }>(server.request('/api/v1/services/feed/instances'))).body.items;
    expect(instances.map((i) => [i.id, i.state, i.restarts, i.stale])).toEqual([
      ['feed-1.0.0-1', 'ready', 0, false],
      ['feed-1.0.0-2', 'backoff', 2, false],
    ]);
    expect(instances[0]!.uptimeMs).toBeGreaterThanOrEqual(60_000);
    expect(instances[1]!.uptimeMs).toBeNull();
    const versions = (await json<{ items: VersionView[] }>(server.request('/api/v1/services/feed/versions'))).body.items;
    expect(versions[0]).toMatchObject({
      readyInstances: 1,
      desiredInstances: 2,
      health: 'progressing',
      failedReason: 'exited 1: ENOENT server.js',
    });

    // Traffic counted once despite the retry: 100 requests over the 10 s covered.
    const stats = await json<ServiceStats>(server.request('/api/v1/services/feed/stats?window=60s'));
    expect(stats.status).toBe(200);
    expect(stats.body.versions).toEqual([
      { version: '1.0.0', requests: 100, rate: 10, errorRatio: 0.05, byClass: { '2xx': 95, '5xx': 5 }, p50: 9.111, p95: 90, p99: 98 },
    ]);
  });

  it('refuses malformed reports naming the field, and stats windows it cannot answer', async () => {
    const bad = traffic('1.0.0', 0, 1, 1, 10);
    bad.latencyBuckets = [1];
    const res = await postReport(server, report({ traffic: [bad] }), agentToken);
    expect(res.status).toBe(400);
    expect(res.body.error?.details).toEqual({
      issues: [
        { pointer: '/traffic/0/latencyBuckets', message: expect.stringContaining(`must have ${LATENCY_BUCKETS_MS.length + 1} counts`) },
      ],
    });
    const missing = await json<{ error: { details: { issues: { pointer: string }[] } } }>(
      server.request('/api/v1/agent/report', { method: 'POST', json: { agentId: 'x' }, token: agentToken }),
    );
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues.map((i) => i.pointer)).toContain('/agentUrl');
    expect((await server.request('/api/v1/services/feed/stats?window=forever')).status).toBe(400);
    expect((await server.request('/api/v1/services/feed/stats?window=2d')).status).toBe(400);
    expect((await server.request('/api/v1/services/nope/stats')).status).toBe(404);
  });

  it('ends a fault the agent reports expired, once', async () => {
    const added = await json<{ id: string }>(
      server.request('/api/v1/services/feed/faults', { method: 'POST', json: { kind: 'abort', percent: 1, ttlSeconds: 600 } }),
    );
    const expired = (id: string) => ({
      id,
      type: 'fault.expired' as const,
      at: Date.now(),
      service: 'feed',
      data: { fault: added.body.id },
    });
    await postReport(server, report({ agentUrl: fake.url, events: [expired('f1')] }), agentToken);
    await postReport(server, report({ agentUrl: fake.url, events: [expired('f1'), expired('f2')] }), agentToken);
    expect((await json<{ items: unknown[] }>(server.request('/api/v1/services/feed/faults'))).body.items).toEqual([]);
    expect(await runtimeEvents('runtime.fault.expired')).toEqual([
      expect.objectContaining({ subject: `fault/${added.body.id}`, change: true }),
    ]);
  });

  it('proxies logs to the agent running the service with its token, and follows them as NDJSON', async () => {
    const logs = await json<{ items: { line: string }[] }>(server.request('/api/v1/services/feed/logs?version=1.0.0&since=5&limit=10'));
    expect(logs.status).toBe(200);
    expect(logs.body.items.map((l) => l.line)).toEqual(['hello', 'world']);
    expect(Object.fromEntries(fake.queries.at(-1)!)).toEqual({ service: 'feed', version: '1.0.0', since: '5', limit: '10' });

    const controller = new AbortController();
    const res = await server.request('/api/v1/services/feed/logs?follow=true&instance=feed-1.0.0-1', { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const text = await readSseUntil(res, '"second"', controller);
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { line: string }).line),
    ).toEqual(['first', 'second']);
    expect(fake.queries.at(-1)!.get('follow')).toBe('true');
  });

  it('answers 503 for an agent whose token this process has not seen, 502 when the agent refuses', async () => {
    // Reported with the admin token: its token is not an agent's, so it is not kept.
    await postReport(
      server,
      report({ agentId: 'agent-2', agentUrl: fake.url, instances: [instance('feed-1.0.0-9', 'ready', Date.now())] }),
    );
    const unknown = await json<{ error: { message: string } }>(server.request('/api/v1/services/feed/logs'));
    expect(unknown.status).toBe(503);
    expect(unknown.body.error.message).toContain("agent 'agent-2' has not reported to this server process");
    // Another agent token reporting the same agent id: the fake agent refuses it.
    const other = await createToken(server, 'agent-2', 'agent');
    await postReport(
      server,
      report({ agentId: 'agent-2', agentUrl: fake.url, instances: [instance('feed-1.0.0-9', 'ready', Date.now())] }),
      other,
    );
    const refused = await json<{ error: { code: string; message: string } }>(server.request('/api/v1/services/feed/logs'));
    expect(refused).toMatchObject({
      status: 502,
      body: { error: { code: 'agent_error', message: expect.stringContaining('agent token required') } },
    });
  });

  it('tells watching agents when desired state changes', async () => {
    const controller = new AbortController();
    const stream = await server.request('/api/v1/agent/watch', { token: agentToken, signal: controller.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reading = readSseUntil(stream, 'event: runtime.desired.changed', controller);
    await server.request('/api/v1/services/feed/scale', { method: 'POST', json: { instances: 3 } });
    expect(await reading).toMatch(/data: \{"revision":\d+\}/);
  });
});

describe('long-lived agent streams', () => {
  it('end when the server shuts down instead of holding it for the grace period', async () => {
    const server = await startTestServer();
    const token = await createToken(server, 'agent-1', 'agent');
    const reader = (await server.request('/api/v1/agent/watch', { token })).body!.getReader();
    await reader.read();
    const ended = (async () => {
      while (!(await reader.read()).done) {}
    })();
    // A grace longer than the test's timeout: were the stream holding shutdown, this would time out.
    await server.close(120_000);
    await ended;
    await server.destroy();
  });
});
