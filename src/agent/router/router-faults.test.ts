import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import type { DesiredFault } from '../protocol.js';
import type { RouterClock } from './clock.js';
import {
  countBy,
  endpointsOf,
  seeded,
  send,
  sendMany,
  serviceSpec,
  startUpstream,
  type TestRouter,
  testRouter,
  type Upstream,
  until,
  withinBinomial,
} from './router-test-kit.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(weights: Array<[string, number]>, routing = {}, options: { clock?: RouterClock; random?: () => number } = {}) {
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

const fault = (f: Partial<DesiredFault> & Pick<DesiredFault, 'kind' | 'percent'>): DesiredFault => ({
  id: 'flt_1',
  service: 'feed',
  expiresAt: Date.now() + 3_600_000,
  ...f,
});

describe('router: faults', () => {
  it('adds latency to about percent of requests', async () => {
    const { router, port } = await setup([['1', 100]], {}, { random: seeded(3) });
    router.setFaults([fault({ kind: 'latency', percent: 30, latencyMs: 100, jitterMs: 20 })]);
    const replies = await sendMany(300, 64, () => send(port));
    const delayed = replies.filter((r) => r.headers['x-opsdeck-fault'] === 'flt_1');
    expect(withinBinomial(delayed.length, 300, 0.3), `${delayed.length} delayed`).toBe(true);
    for (const r of delayed) expect(r.ms).toBeGreaterThanOrEqual(100);
    expect(replies.every((r) => r.status === 200)).toBe(true);
  });

  it('answers an injected status for about percent of requests, only on the targeted version', async () => {
    const { router, port } = await setup(
      [
        ['1', 50],
        ['2', 50],
      ],
      {},
      { random: seeded(11) },
    );
    router.setFaults([fault({ kind: 'status', percent: 20, status: 503, version: '2' })]);
    const replies = await sendMany(2000, 32, () => send(port));
    const injected = replies.filter((r) => r.status === 503);
    const onV2 = replies.filter((r) => r.headers['x-opsdeck-version'] === '2').length;
    expect(withinBinomial(injected.length, onV2, 0.2), `${injected.length} of ${onV2}`).toBe(true);
    expect(injected.every((r) => r.headers['x-opsdeck-version'] === '2')).toBe(true);
    expect(JSON.parse(injected[0].body).error).toMatchObject({ code: 'injected_fault', details: { faults: ['flt_1'] } });
    expect(JSON.parse(injected[0].body).error.message).toContain('injected');
    const traffic = router.takeTraffic().find((t) => t.version === '2');
    expect(traffic?.byClass['5xx']).toBe(injected.length);
  });

  it('aborts the client connection', async () => {
    const { router, port } = await setup([['1', 100]]);
    router.setFaults([fault({ kind: 'abort', percent: 100 })]);
    await expect(send(port)).rejects.toThrow(/socket hang up|ECONNRESET/);
    await until(() => router.takeTraffic().some((t) => t.byClass.error === 1), 'the aborted request to be counted');
  });

  it('expires a fault at expiresAt: its timer reports fault.expired once', async () => {
    const clock = new FakeClock();
    const { router, port, events } = await setup([['1', 100]], {}, { clock });
    router.setFaults([fault({ kind: 'status', percent: 100, status: 500, expiresAt: clock.now() + 60_000 })]);
    expect((await send(port)).status).toBe(500);
    clock.advance(59_999);
    expect((await send(port)).status).toBe(500);
    clock.advance(1);
    expect(events.filter((e) => e.type === 'fault.expired')).toMatchObject([{ service: 'feed', data: { fault: 'flt_1' } }]);
    expect((await send(port)).status).toBe(200);
    // The control plane still lists it until it has processed the event: no second report.
    router.setFaults([fault({ kind: 'status', percent: 100, status: 500, expiresAt: clock.now() })]);
    expect((await send(port)).status).toBe(200);
    expect(events.filter((e) => e.type === 'fault.expired')).toHaveLength(1);
  });

  it('drops an expired fault at request time even when no timer fired', async () => {
    let now = 1_000_000;
    const { router, port, events } = await setup([['1', 100]], {}, { clock: { now: () => now } });
    router.setFaults([fault({ kind: 'status', percent: 100, status: 500, expiresAt: now + 1000 })]);
    expect((await send(port)).status).toBe(500);
    now += 1000;
    expect((await send(port)).status).toBe(200);
    expect(events.filter((e) => e.type === 'fault.expired')).toHaveLength(1);
  });
});

describe('router: mirroring', () => {
  it('copies about percent of requests to the mirror version; clients only see primary responses', async () => {
    const { port, upstreams, router } = await setup(
      [
        ['1', 100],
        ['2', 0],
      ],
      { mirror: { version: '2', percent: 30 } },
      { random: seeded(5) },
    );
    const [primary, shadow] = upstreams;
    shadow.handler = (_req, res) => {
      res.writeHead(500);
      res.end('shadow failure');
    };
    const replies = await sendMany(1000, 16, (i) =>
      i % 2 === 0 ? send(port, { path: `/get/${i}` }) : send(port, { method: 'POST', path: `/post/${i}`, body: `body-${i}` }),
    );
    expect(replies.every((r) => r.status === 200 && r.headers['x-opsdeck-version'] === '1')).toBe(true);
    expect(primary.received).toHaveLength(1000);

    // Mirrors are dispatched before the primary response returns; wait for the last ones to land.
    const mirrorsInFlight = async () =>
      (await router.metrics.getSingleMetric('opsdeck_router_mirror_in_flight')?.get())?.values.length ?? 0;
    await until(async () => (await mirrorsInFlight()) === 0, 'mirrors to finish');
    expect(withinBinomial(shadow.received.length, 1000, 0.3), `${shadow.received.length} mirrored`).toBe(true);
    for (const m of shadow.received) {
      expect(m.headers['x-opsdeck-mirrored']).toBe('true');
      if (m.method === 'POST') expect(m.body).toBe(`body-${m.url.split('/')[2]}`);
    }
    expect(countBy(shadow.received, (m) => m.method)).toMatchObject({ GET: expect.any(Number), POST: expect.any(Number) });
    // Shadow traffic is not reported as served by its version.
    expect(router.takeTraffic().find((t) => t.version === '2')?.requests).toBe(0);
  });

  it('skips mirroring bodies above the buffer limit but still proxies them', async () => {
    const { port, upstreams } = await setup(
      [
        ['1', 100],
        ['2', 0],
      ],
      { mirror: { version: '2', percent: 100 } },
    );
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const reply = await send(port, { method: 'POST', body: big });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).body).toHaveLength(big.length);
    await send(port, { path: '/small' });
    await until(() => upstreams[1].received.length === 1, 'the small request to be mirrored');
    expect(upstreams[1].received[0].url).toBe('/small');
  });
});
