import { afterEach, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS } from '../protocol.js';
import {
  countBy,
  endpointsOf,
  type Reply,
  seeded,
  send,
  sendMany,
  serviceSpec,
  startUpstream,
  type TestRouter,
  testRouter,
  type Upstream,
  withinBinomial,
} from './router-test-kit.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(weights: Array<[string, number]>, routing = {}, options: Parameters<typeof testRouter>[0] = {}) {
  const upstreams: Upstream[] = [];
  for (const [version] of weights) upstreams.push(await startUpstream(`feed-${version}-1`, version));
  const t: TestRouter = testRouter(options);
  cleanups.push(async () => {
    await t.router.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });
  t.router.setEndpoints('feed', endpointsOf(upstreams));
  await t.router.apply([serviceSpec('feed', weights, routing)]);
  return { ...t, upstreams, port: t.port('feed') };
}

const versionOf = (r: Reply) => r.headers['x-opsdeck-version'] as string | undefined;

describe('router: weighted split', () => {
  it('splits 90/10 within binomial bounds over 5,000 requests', async () => {
    const { port, router } = await setup(
      [
        ['1.0', 90],
        ['1.1', 10],
      ],
      {},
      { random: seeded(7) },
    );
    const replies = await sendMany(5000, 32, () => send(port));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const byVersion = countBy(replies, versionOf);
    expect(byVersion['1.0'] + byVersion['1.1']).toBe(5000);
    expect(withinBinomial(byVersion['1.1'], 5000, 0.1), `canary got ${byVersion['1.1']}`).toBe(true);

    const traffic = router.takeTraffic();
    expect(traffic.reduce((n, t) => n + t.requests, 0)).toBe(5000);
    for (const t of traffic) {
      expect(t.requests).toBe(byVersion[t.version]);
      expect(t.byClass['2xx']).toBe(t.requests);
      expect(t.latencyBuckets).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
      expect(t.latencyBuckets.reduce((a, b) => a + b, 0)).toBe(t.requests);
    }
    // Deltas: nothing happened since the last call.
    expect(router.takeTraffic().reduce((n, t) => n + t.requests, 0)).toBe(0);
    await sendMany(30, 4, () => send(port));
    expect(router.takeTraffic().reduce((n, t) => n + t.requests, 0)).toBe(30);
  });

  it('redistributes the share of a version without endpoints, and answers 503 when none has any', async () => {
    const { port, router, upstreams } = await setup([
      ['1.0', 90],
      ['1.1', 10],
    ]);
    router.setEndpoints('feed', endpointsOf([upstreams[1]]));
    const replies = await sendMany(200, 8, () => send(port));
    expect(countBy(replies, versionOf)).toEqual({ '1.1': 200 });

    router.setEndpoints('feed', new Map());
    const none = await send(port);
    expect(none.status).toBe(503);
    expect(JSON.parse(none.body).error.code).toBe('no_endpoints');
  });

  it('exposes Prometheus metrics in its own registry', async () => {
    const { port, router } = await setup([['1.0', 100]]);
    await sendMany(10, 2, () => send(port));
    const text = await router.metrics.metrics();
    expect(text).toContain('opsdeck_router_requests_total{service="feed",version="1.0",class="2xx"} 10');
    expect(text).toContain('opsdeck_router_request_duration_seconds_count{service="feed",version="1.0"} 10');
    expect(text).toContain('opsdeck_router_request_duration_seconds_bucket{le="0.001",service="feed",version="1.0"}');
    expect(text).toContain('opsdeck_router_in_flight{service="feed",version="1.0"} 0');
    expect(text).toContain('# TYPE opsdeck_router_ejections_total counter');
  });
});

describe('router: stickiness', () => {
  it('keeps a header key on one version, and a weight change only moves keys stable -> canary', async () => {
    const weights = (canary: number): Array<[string, number]> => [
      ['stable', 100 - canary],
      ['canary', canary],
    ];
    const { port, router } = await setup(weights(10), { stickiness: { header: 'x-user' } });
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const ask = async (key: string) => versionOf(await send(port, { headers: { 'x-user': key } }));

    const before = new Map<string, string | undefined>();
    for (const key of keys) before.set(key, await ask(key));
    // 200 requests for one key land on one version.
    const one = await sendMany(200, 8, () => send(port, { headers: { 'x-user': 'user-7' } }));
    expect(new Set(one.map(versionOf))).toEqual(new Set([before.get('user-7')]));
    // And every key asked again stays put.
    for (const key of keys) expect(await ask(key)).toBe(before.get(key));

    await router.apply([serviceSpec('feed', weights(50), { stickiness: { header: 'x-user' } })]);
    let moved = 0;
    for (const key of keys) {
      const after = await ask(key);
      if (after !== before.get(key)) {
        moved++;
        expect([before.get(key), after]).toEqual(['stable', 'canary']);
      }
    }
    expect(moved).toBeGreaterThan(0);
    const canaryShare = keys.filter((k) => before.get(k) === 'canary').length;
    expect(canaryShare).toBeLessThan(60);
  });

  it('sticks on a cookie too', async () => {
    const { port } = await setup(
      [
        ['stable', 50],
        ['canary', 50],
      ],
      { stickiness: { cookie: 'uid' } },
    );
    for (const uid of ['a', 'b', 'c', 'd']) {
      const replies = await sendMany(20, 4, () => send(port, { headers: { cookie: `theme=dark; uid=${uid}` } }));
      expect(new Set(replies.map(versionOf)).size).toBe(1);
    }
  });
});

describe('router: version override', () => {
  it('routes x-opsdeck-version directly, 404 for unknown versions, 503 without endpoints', async () => {
    const { port, router, upstreams } = await setup([
      ['1.0', 100],
      ['1.1', 0],
    ]);
    const pinned = await sendMany(20, 4, () => send(port, { headers: { 'x-opsdeck-version': '1.1' } }));
    expect(pinned.every((r) => r.status === 200 && versionOf(r) === '1.1')).toBe(true);
    expect(pinned[0].headers['x-opsdeck-instance']).toBe('feed-1.1-1');

    const unknown = await send(port, { headers: { 'x-opsdeck-version': '9.9' } });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error).toMatchObject({ code: 'unknown_version', details: { known: ['1.0', '1.1'] } });
    expect(JSON.parse(unknown.body).error.message).toContain('1.0, 1.1');

    router.setEndpoints('feed', endpointsOf([upstreams[0]]));
    const empty = await send(port, { headers: { 'x-opsdeck-version': '1.1' } });
    expect(empty.status).toBe(503);
  });
});

describe('router: live reconfiguration', () => {
  it('drops no request while weights change under a 2,000-request load', async () => {
    const { port, router } = await setup([
      ['1.0', 90],
      ['1.1', 10],
    ]);
    let done = 0;
    let applies = 0;
    const pending: Promise<void>[] = [];
    const replies = await sendMany(2000, 32, async () => {
      const reply = await send(port);
      // Reconfigure every 100 completed requests, while the other 31 are in flight.
      if (++done % 100 === 0) {
        const canary = (done / 100) % 2 === 0 ? 10 : 60;
        pending.push(
          router.apply([
            serviceSpec('feed', [
              ['1.0', 100 - canary],
              ['1.1', canary],
            ]),
          ]),
        );
        applies++;
      }
      return reply;
    });
    await Promise.all(pending);
    expect(applies).toBe(20);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(replies.map(versionOf))).toEqual(new Set(['1.0', '1.1']));
  });
});
