import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type VersionTraffic } from '../../agent/protocol.js';
import { DIALECTS } from '../../testing/databases.js';
import { startTestServer, type TestServer } from '../../testing/server.js';
import type { RuntimeApi } from './runtime.service.js';
import { apply, createToken, feedRuntime, postReport, report, serviceDoc, TEAM } from './runtime.test-support.js';

/** `n` requests of which `errors` were 5xx, all in the latency bucket whose upper bound is `ms`. */
function traffic(version: string, from: number, to: number, n: number, ms: number, errors = 0): VersionTraffic {
  const latencyBuckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencyBuckets[LATENCY_BUCKETS_MS.indexOf(ms)] = n;
  return { service: 'feed', version, from, to, requests: n, byClass: { '2xx': n - errors, '5xx': errors }, latencyBuckets };
}

describe.each(DIALECTS)('runtime traffic window on %s', (dialect) => {
  let server: TestServer;
  let runtime: RuntimeApi;

  beforeAll(async () => {
    server = await startTestServer({ dialect, role: 'api' });
    runtime = server.modules.runtime as RuntimeApi;
    await apply(server, TEAM, serviceDoc('feed', feedRuntime()));
    const agent = await createToken(server, 'agent-1', 'agent');
    const base = 1_000_000;
    await postReport(
      server,
      report({
        traffic: [
          traffic('1.0.0', base, base + 5000, 90, 10, 1),
          traffic('2.0.0', base, base + 5000, 10, 100, 2),
          traffic('1.0.0', base + 5000, base + 10_000, 80, 20),
          traffic('1.0.0', base + 10_000, base + 15_000, 70, 10),
        ],
      }),
      agent,
    );
    // A second agent's interval for the same version adds to it.
    await postReport(server, report({ agentId: 'agent-2', traffic: [traffic('1.0.0', base + 2000, base + 7000, 5, 10)] }), agent);
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('sums per version the intervals ending inside (from, to]', async () => {
    const base = 1_000_000;
    const at = (ms: number) => LATENCY_BUCKETS_MS.indexOf(ms);
    const totals = await runtime.traffic('feed', { from: base, to: base + 10_000 });
    expect(totals.map((t) => [t.version, t.requests, t.byClass, t.from, t.to])).toEqual([
      ['1.0.0', 175, { '2xx': 174, '5xx': 1 }, base, base + 10_000],
      ['2.0.0', 10, { '2xx': 8, '5xx': 2 }, base, base + 5000],
    ]);
    const v1 = totals[0]!.latencyBuckets;
    expect(v1).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    expect([v1[at(10)], v1[at(20)], v1.reduce((a, b) => a + b, 0)]).toEqual([95, 80, 175]);
  });

  it('counts each interval in exactly one of consecutive windows, and answers 404 for an unknown service', async () => {
    const base = 1_000_000;
    const first = await runtime.traffic('feed', { from: base, to: base + 7000 });
    const second = await runtime.traffic('feed', { from: base + 7000, to: base + 20_000 });
    const whole = await runtime.traffic('feed', { from: 0, to: base + 20_000 });
    const requests = (ts: typeof whole, v: string) => ts.find((t) => t.version === v)?.requests ?? 0;
    expect(requests(first, '1.0.0') + requests(second, '1.0.0')).toBe(requests(whole, '1.0.0'));
    expect(requests(whole, '1.0.0')).toBe(245);
    expect(await runtime.traffic('feed', { from: base + 20_000, to: base + 30_000 })).toEqual([]);
    await expect(runtime.traffic('nope', { from: 0, to: 1 })).rejects.toMatchObject({ status: 404 });
  });
});
