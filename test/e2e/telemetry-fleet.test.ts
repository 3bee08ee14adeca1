import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, fixtureServiceYaml, freePort, waitFor } from '../../src/testing/fleet.js';
import { runLoad } from '../../src/testing/load.js';

// The runtime's metrics in the built-in store with real processes: the agent's router traffic
// (reported to the control plane) and the instances' own /metrics (scraped automatically).

interface PromVector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('telemetry of a fleet', () => {
  const fleet = new Fleet();
  let target: string;
  const query = async (q: string) => (await fleet.json<PromVector>(`/api/v1/query?query=${encodeURIComponent(q)}`)).data.result;

  beforeAll(async () => {
    await fleet.start();
    const port = await freePort();
    target = `http://127.0.0.1:${port}/`;
    await fleet.apply(fixtureServiceYaml({ name: 'tel', team: 'web', port }));
    await waitFor(
      'tel serving',
      async () =>
        (await fleet.json<{ items: { readyInstances: number }[] }>('/api/v1/services/tel/versions')).items.some(
          (v) => v.readyInstances >= 2,
        ),
      30_000,
    );
  }, 60_000);
  afterAll(() => fleet.stop(), 60_000);

  it('stores router request counters and latency histograms per version, and scrapes instance metrics with their version', async () => {
    const load = await runLoad(`${target}?sleep=20`, { count: 300, concurrency: 6 });
    expect(load.failures).toBe(0);
    const routed = await waitFor(
      'router counters in the store',
      async () => {
        const r = await query('sum by (version, class) (opsdeck_router_requests_total{service="tel"}) > 0');
        return r.length && Number(r[0]!.value[1]) >= 300 ? r : undefined;
      },
      45_000,
    );
    expect(routed.map((r) => r.metric)).toEqual([{ version: '1.0.0', class: '2xx' }]);
    const p50 = await query('histogram_quantile(0.5, sum by (le) (opsdeck_router_request_duration_seconds_bucket{service="tel"}))');
    expect(Number(p50[0]!.value[1])).toBeGreaterThan(0.015);
    expect(Number(p50[0]!.value[1])).toBeLessThan(0.2);

    const scraped = await waitFor(
      'instance metrics scraped',
      async () => {
        const r = await query('sum by (version) (fixture_requests_total{service="tel"})');
        return r.length && Number(r[0]!.value[1]) >= 300 ? r : undefined;
      },
      45_000,
    );
    expect(scraped[0]!.metric).toEqual({ version: '1.0.0' });
    const up = await query('up{service="tel"}');
    expect(up).toHaveLength(2);
    expect(up.every((u) => u.value[1] === '1' && u.metric.version === '1.0.0' && u.metric.job === 'tel')).toBe(true);
  }, 120_000);
});
