import { Agent, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import type { Endpoint } from '../contracts.js';
import {
  countBy,
  deadPort,
  endpointsOf,
  type Reply,
  send,
  sendMany,
  serviceSpec,
  startUpstream,
  type TestRouter,
  testRouter,
  type Upstream,
} from './router-test-kit.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function track(t: TestRouter, upstreams: Upstream[]): TestRouter {
  cleanups.push(async () => {
    await t.router.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });
  return t;
}

/** An upstream that holds every request until released. */
async function holdingUpstream(id: string, version: string) {
  const held: ServerResponse[] = [];
  let arrived = () => {};
  const upstream = await startUpstream(id, version, (_req, res) => {
    held.push(res);
    arrived();
  });
  return {
    upstream,
    held,
    /** Resolves when the next request reaches the upstream. */
    next: () => new Promise<void>((resolve) => (arrived = resolve)),
    release: () => {
      for (const res of held.splice(0)) res.end('slow');
    },
  };
}

const instanceOf = (r: Reply) => r.headers['x-opsdeck-instance'] as string | undefined;

describe('router: balancing', () => {
  it('sends to the endpoint with the fewest outstanding requests', async () => {
    const slow = await holdingUpstream('feed-1-slow', '1');
    const fast = await startUpstream('feed-1-fast', '1');
    const t = track(testRouter(), [slow.upstream, fast]);
    t.router.setEndpoints('feed', endpointsOf([slow.upstream, fast]));
    await t.router.apply([serviceSpec('feed', [['1', 100]])]);
    const port = t.port('feed');

    const inFlight: Promise<Reply>[] = [];
    for (let i = 0; i < 50; i++) {
      const reply = send(port);
      inFlight.push(reply);
      // Wait until this request is answered, or is parked at the slow endpoint.
      await Promise.race([reply, slow.next()]);
    }
    // Round-robin would have parked 25 there; least-outstanding parks at most the first tie.
    expect(slow.held.length).toBeLessThanOrEqual(1);
    expect(fast.received.length).toBeGreaterThanOrEqual(49);
    slow.release();
    expect((await Promise.all(inFlight)).every((r) => r.status === 200)).toBe(true);
  });
});

describe('router: retries and timeouts', () => {
  async function withDeadEndpoint() {
    const live = await startUpstream('feed-1-live', '1');
    const dead: Endpoint = { id: 'feed-1-dead', host: '127.0.0.1', port: await deadPort() };
    const t = track(testRouter(), [live]);
    t.router.setEndpoints('feed', new Map([['1', [dead, live.endpoint]]]));
    // Outlier ejection off (huge threshold): every request still gets a chance to hit the dead one.
    await t.router.apply([
      serviceSpec('feed', [['1', 100]], { outlier: { consecutiveFailures: 10_000, baseEjectionMs: 1000, maxEjectionPercent: 50 } }),
    ]);
    return { t, live, port: t.port('feed') };
  }

  it('retries an idempotent request on another endpoint after connection refused, with its body', async () => {
    const { port, live } = await withDeadEndpoint();
    const gets = [];
    for (let i = 0; i < 20; i++) gets.push(await send(port, { path: `/get/${i}` }));
    expect(gets.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(new Set(gets.map(instanceOf))).toEqual(new Set(['feed-1-live']));

    const puts = [];
    for (let i = 0; i < 6; i++) puts.push(await send(port, { method: 'PUT', path: `/put/${i}`, body: `payload-${i}` }));
    expect(puts.map((r) => r.status)).toEqual(new Array(6).fill(200));
    expect(live.received.filter((r) => r.method === 'PUT').map((r) => r.body)).toEqual(puts.map((_, i) => `payload-${i}`));
  });

  it('does not retry a POST: the client gets 502', async () => {
    const { port } = await withDeadEndpoint();
    const posts = [];
    for (let i = 0; i < 20; i++) posts.push(await send(port, { method: 'POST', body: 'x' }));
    const statuses = countBy(posts, (r) => String(r.status));
    // Ties rotate, so the dead endpoint gets about every other POST.
    expect(statuses['502']).toBeGreaterThanOrEqual(5);
    expect(statuses['200']).toBeGreaterThanOrEqual(5);
    const failed = posts.find((r) => r.status === 502);
    expect(JSON.parse(failed?.body ?? '{}').error.code).toBe('bad_gateway');
    expect(failed?.headers['x-opsdeck-instance']).toBe('feed-1-dead');
  });

  it('retries a GET, not a POST, when the upstream resets the connection before answering', async () => {
    const resetter = await startUpstream('feed-1-reset', '1', (req) => req.socket.destroy());
    const live = await startUpstream('feed-1-live', '1');
    const t = track(testRouter(), [resetter, live]);
    t.router.setEndpoints('feed', endpointsOf([resetter, live]));
    await t.router.apply([
      serviceSpec('feed', [['1', 100]], { outlier: { consecutiveFailures: 10_000, baseEjectionMs: 1000, maxEjectionPercent: 50 } }),
    ]);
    const port = t.port('feed');
    const gets = [];
    for (let i = 0; i < 10; i++) gets.push(await send(port));
    expect(gets.map((r) => r.status)).toEqual(new Array(10).fill(200));
    expect(resetter.received.length).toBeGreaterThanOrEqual(4);
    const posts = [];
    for (let i = 0; i < 10; i++) posts.push(await send(port, { method: 'POST', body: 'x' }));
    expect(posts.filter((r) => r.status === 502).length).toBeGreaterThanOrEqual(4);
  });

  it('ejects an endpoint after consecutive connection failures', async () => {
    const live = await startUpstream('feed-1-live', '1');
    const dead: Endpoint = { id: 'feed-1-dead', host: '127.0.0.1', port: await deadPort() };
    const t = track(testRouter(), [live]);
    t.router.setEndpoints('feed', new Map([['1', [dead, live.endpoint]]]));
    await t.router.apply([
      serviceSpec('feed', [['1', 100]], { outlier: { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectionPercent: 50 } }),
    ]);
    for (let i = 0; i < 6; i++) expect((await send(t.port('feed'))).status).toBe(200);
    expect(t.events.filter((e) => e.type === 'instance.ejected').map((e) => e.instance)).toEqual(['feed-1-dead']);
  });

  it('answers 502 when the retry fails too', async () => {
    const t = track(testRouter(), []);
    const dead = (id: string, port: number): Endpoint => ({ id, host: '127.0.0.1', port });
    t.router.setEndpoints('feed', new Map([['1', [dead('a', await deadPort()), dead('b', await deadPort())]]]));
    await t.router.apply([serviceSpec('feed', [['1', 100]])]);
    const reply = await send(t.port('feed'));
    expect(reply.status).toBe(502);
    expect(t.router.takeTraffic()[0].byClass.error).toBe(1);
  });

  it('answers 504 when the upstream does not answer within timeoutMs', async () => {
    const hung = await holdingUpstream('feed-1-hung', '1');
    const t = track(testRouter(), [hung.upstream]);
    t.router.setEndpoints('feed', endpointsOf([hung.upstream]));
    await t.router.apply([serviceSpec('feed', [['1', 100]], { timeoutMs: 150 })]);
    const reply = await send(t.port('feed'));
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.body).error.code).toBe('gateway_timeout');
    expect(reply.ms).toBeGreaterThanOrEqual(140);
    expect(t.router.takeTraffic()[0].byClass).toMatchObject({ error: 1, '5xx': 0 });
    hung.release();
  });
});

describe('router: outlier ejection', () => {
  async function setup(handlers: { bad: number }, outlier = { consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectionPercent: 50 }) {
    const clock = new FakeClock();
    const upstreams: Upstream[] = [];
    for (let i = 0; i < 2; i++) {
      const failing = i < handlers.bad;
      upstreams.push(
        await startUpstream(`feed-1-${failing ? 'bad' : 'good'}${i}`, '1', (_req, res) => {
          res.writeHead(failing ? 500 : 200);
          res.end();
        }),
      );
    }
    const t = track(testRouter({ clock }), upstreams);
    t.router.setEndpoints('feed', endpointsOf(upstreams));
    await t.router.apply([serviceSpec('feed', [['1', 100]], { outlier })]);
    return { t, clock, upstreams, port: t.port('feed') };
  }

  it('ejects after N consecutive 5xx for base x times ejected, then lets the endpoint back', async () => {
    const { t, clock, upstreams, port } = await setup({ bad: 1 });
    const bad = upstreams[0];
    const ejections = () => t.events.filter((e) => e.type === 'instance.ejected');
    for (let i = 0; i < 20 && ejections().length === 0; i++) await send(port);
    expect(ejections()).toHaveLength(1);
    expect(ejections()[0]).toMatchObject({
      service: 'feed',
      version: '1',
      instance: 'feed-1-bad0',
      data: { durationMs: 10_000, ejections: 1 },
    });
    expect(bad.received).toHaveLength(3);

    const during = await sendMany(20, 4, () => send(port));
    expect(during.every((r) => r.status === 200)).toBe(true);
    expect(bad.received).toHaveLength(3);

    clock.advance(10_001);
    for (let i = 0; i < 20 && ejections().length === 1; i++) await send(port);
    expect(bad.received.length).toBe(6);
    expect(ejections()).toHaveLength(2);
    expect(ejections()[1].data).toMatchObject({ durationMs: 20_000, ejections: 2 });
    expect(await t.router.metrics.metrics()).toContain('opsdeck_router_ejections_total{service="feed",version="1"} 2');
  });

  it('never ejects more than maxEjectionPercent of a version', async () => {
    const { t, port } = await setup({ bad: 2 });
    await sendMany(40, 2, () => send(port));
    expect(t.events.filter((e) => e.type === 'instance.ejected')).toHaveLength(1);
  });
});

describe('router: drain', () => {
  it('stops sending new requests to a draining endpoint and resolves when its in-flight one finishes', async () => {
    const slow = await holdingUpstream('feed-1-a', '1');
    const other = await startUpstream('feed-1-b', '1');
    const t = track(testRouter(), [slow.upstream, other]);
    t.router.setEndpoints('feed', endpointsOf([slow.upstream]));
    await t.router.apply([serviceSpec('feed', [['1', 100]])]);
    const port = t.port('feed');

    const arrived = slow.next();
    const parked = send(port);
    await arrived;
    t.router.setEndpoints('feed', endpointsOf([slow.upstream, other]));
    let drained = false;
    const drain = t.router.drain('feed', 'feed-1-a', 30_000).then(() => {
      drained = true;
    });
    const meanwhile = await sendMany(20, 4, () => send(port));
    expect(meanwhile.every((r) => instanceOf(r) === 'feed-1-b')).toBe(true);
    expect(slow.held).toHaveLength(1);
    expect(drained).toBe(false);

    slow.release();
    await drain;
    expect((await parked).status).toBe(200);
  });

  it('gives up waiting after the grace period', async () => {
    const clock = new FakeClock();
    const slow = await holdingUpstream('feed-1-a', '1');
    const t = track(testRouter({ clock }), [slow.upstream]);
    t.router.setEndpoints('feed', endpointsOf([slow.upstream]));
    await t.router.apply([serviceSpec('feed', [['1', 100]])]);
    const arrived = slow.next();
    const parked = send(t.port('feed'));
    await arrived;
    let drained = false;
    const drain = t.router.drain('feed', 'feed-1-a', 5000).then(() => {
      drained = true;
    });
    clock.advance(4999);
    await Promise.resolve();
    expect(drained).toBe(false);
    clock.advance(1);
    await drain;
    expect(slow.held).toHaveLength(1);
    slow.release();
    await parked;
  });
});

describe('router: listeners', () => {
  it('reports a port in use for that service only and keeps the others serving', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const feed = await startUpstream('feed-1-1', '1');
    const t = track(testRouter(), [feed]);
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    t.router.setEndpoints('feed', endpointsOf([feed]));
    const desired = [serviceSpec('feed', [['1', 100]]), serviceSpec('search', [['1', 100]], {}, taken)];

    await t.router.apply(desired);
    expect(t.router.failures()).toMatchObject([{ service: 'search', port: taken, code: 'EADDRINUSE' }]);
    expect(t.events.filter((e) => e.type === 'router.failed')).toMatchObject([
      { service: 'search', data: { port: taken, code: 'EADDRINUSE' } },
    ]);
    expect((await send(t.port('feed'))).status).toBe(200);

    // Re-applying does not report the same failure again.
    await t.router.apply(desired);
    expect(t.events.filter((e) => e.type === 'router.failed')).toHaveLength(1);

    await new Promise((resolve) => blocker.close(resolve));
    await t.router.apply(desired);
    expect(t.router.failures()).toEqual([]);
    expect(t.router.listeners().map((l) => l.service)).toEqual(['feed', 'search']);
  });

  it('removes a listener gracefully: the in-flight request finishes, new connections are refused', async () => {
    const slow = await holdingUpstream('feed-1-a', '1');
    const t = track(testRouter(), [slow.upstream]);
    t.router.setEndpoints('feed', endpointsOf([slow.upstream]));
    await t.router.apply([serviceSpec('feed', [['1', 100]])]);
    const port = t.port('feed');
    const arrived = slow.next();
    const parked = send(port);
    await arrived;

    await t.router.apply([]);
    expect(t.router.listeners()).toEqual([]);
    await expect(send(port, { agent: new Agent() })).rejects.toThrow(/ECONNREFUSED/);
    slow.release();
    const reply = await parked;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
  });
});
