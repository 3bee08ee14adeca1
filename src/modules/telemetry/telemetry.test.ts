import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { DIALECTS } from '../../testing/databases.js';
import { startTestServer, type TestServer } from '../../testing/server.js';
import type { TelemetryService } from './telemetry.service.js';

interface PromResponse {
  status: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }> };
  errorType?: string;
  error?: string;
}

const T0 = Date.parse('2026-05-01T10:00:00Z');

describe.each(DIALECTS)('telemetry over HTTP on %s', (dialect) => {
  let server: TestServer | undefined;
  let peer: Server | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    peer?.close();
    peer = undefined;
  });

  const push = (text: string, contentType = 'text/plain; version=0.0.4') =>
    server!.request('/api/v1/metrics', { method: 'POST', body: text, headers: { 'content-type': contentType } });
  const query = async (params: Record<string, string>, path = '/api/v1/query') => {
    const res = await server!.request(`${path}?${new URLSearchParams(params)}`);
    return { status: res.status, body: (await res.json()) as PromResponse };
  };

  it('takes pushed Prometheus text and answers PromQL on the Prometheus API, GET and form POST', async () => {
    const clock = new FakeClock(T0);
    server = await startTestServer({ dialect, clock });
    const lines = (n: number, t: number) =>
      [
        '# TYPE http_requests_total counter',
        `http_requests_total{service="feed",version="1.0.0",code="200"} ${n * 90} ${t}`,
        `http_requests_total{service="feed",version="1.0.0",code="500"} ${n * 10} ${t}`,
        `http_requests_total{service="feed",version="1.1.0",code="200"} ${n * 20} ${t}`,
      ].join('\n');
    for (let i = 0; i <= 8; i++) {
      const res = await push(`${lines(i, T0 + i * 15_000)}\n`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ accepted: 3, rejected: 0 });
    }
    const at = String((T0 + 120_000) / 1000);
    const byVersion = await query({ query: 'sum by (version) (rate(http_requests_total[1m]))', time: at });
    expect(byVersion.status).toBe(200);
    expect(byVersion.body.status).toBe('success');
    const rates = Object.fromEntries(byVersion.body.data!.result.map((r) => [r.metric.version, Number(r.value![1])]));
    expect(rates['1.0.0']).toBeCloseTo(100 / 15, 9);
    expect(rates['1.1.0']).toBeCloseTo(20 / 15, 9);

    const form = await server.request('/api/v1/query_range', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        query: 'sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))',
        start: String((T0 + 60_000) / 1000),
        end: at,
        step: '30s',
      }).toString(),
    });
    const range = (await form.json()) as PromResponse;
    expect(range.data?.resultType).toBe('matrix');
    const values = range.data!.result[0]!.values!;
    expect(values.map((v) => v[0])).toEqual([60, 90, 120].map((s) => (T0 + s * 1000) / 1000));
    for (const [, v] of values) expect(Number(v)).toBeCloseTo(10 / 120, 9);

    expect((await server.request('/api/v1/label/version/values').then((r) => r.json())) as unknown).toEqual({
      status: 'success',
      data: ['1.0.0', '1.1.0'],
    });
    const series = (await server
      .request(`/api/v1/series?${new URLSearchParams({ 'match[]': 'http_requests_total{code="500"}' })}`)
      .then((r) => r.json())) as { data: unknown[] };
    expect(series.data).toEqual([{ __name__: 'http_requests_total', service: 'feed', version: '1.0.0', code: '500' }]);
  });

  it('rejects bad pushes and bad queries with clear errors, writing nothing', async () => {
    server = await startTestServer({ dialect, clock: new FakeClock(T0) });
    const bad = await push('ok_metric 1\nbroken{code 2\n');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { message: string; details: { issues: { line: number; column: number }[] } } };
    expect(body.error.message).toMatch(/line 2, column/);
    expect(body.error.details.issues[0]).toMatchObject({ line: 2 });
    expect((await query({ query: 'ok_metric' })).body.data?.result).toEqual([]);

    const syntax = await query({ query: 'sum(rate(x[5m])' });
    expect(syntax.status).toBe(400);
    expect(syntax.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    const unsupported = await query({ query: 'predict_linear(x[5m], 3600)' });
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error).toMatch(/predict_linear/);
    expect(unsupported.body.error).toMatch(/prometheus/i);
    const badTime = await query({ query: 'up', time: 'yesterday' });
    expect(badTime.status).toBe(400);
    expect(badTime.body.error).toMatch(/invalid parameter "time"/);
    const badStep = await query({ query: 'up', start: '100', end: '50', step: '15s' }, '/api/v1/query_range');
    expect(badStep.body.error).toMatch(/end timestamp must not be before start/);
    const noToken = await fetch(`${server.url}/api/v1/query?query=up`);
    expect(noToken.status).toBe(401);
  });

  it('stores what a real OpenTelemetry SDK exports over OTLP/HTTP, protobuf and JSON, and answers it', async () => {
    server = await startTestServer({ dialect });
    const token = server.adminToken;
    const record = async (exporter: PushMetricExporter, attrs: Record<string, string>) => {
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
      const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout' }), readers: [reader] });
      const meter = provider.getMeter('test');
      meter.createCounter('orders').add(7, attrs);
      meter.createHistogram('checkout.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [100, 500] } }).record(250, attrs);
      await provider.forceFlush();
      await provider.shutdown();
    };
    const headers = { Authorization: `Bearer ${token}` };
    await record(new ProtoExporter({ url: `${server.url}/v1/metrics`, headers }), { encoding: 'protobuf' });
    await record(new JsonExporter({ url: `${server.url}/v1/metrics`, headers }), { encoding: 'json' });

    const orders = await query({ query: 'sum by (encoding, job) (orders_total)' });
    expect(orders.body.data?.result.map((r) => [r.metric.encoding, r.metric.job, r.value![1]]).sort()).toEqual([
      ['json', 'checkout', '7'],
      ['protobuf', 'checkout', '7'],
    ]);
    const p50 = await query({ query: 'histogram_quantile(0.5, sum by (le) (checkout_latency_milliseconds_bucket))' });
    expect(Number(p50.body.data?.result[0]?.value?.[1])).toBeGreaterThan(100);
    expect(Number(p50.body.data?.result[0]?.value?.[1])).toBeLessThanOrEqual(500);

    const garbage = await server.request('/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0xff, 0xff, 0xff, 0x01]),
    });
    expect(garbage.status).toBe(400);
  });

  it('scrapes a real exposition endpoint named in Service.spec.scrape, and marks vanished series stale', async () => {
    let body = 'jobs_done_total{queue="a"} 1\njobs_done_total{queue="b"} 5\n';
    peer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(body);
    });
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    const { port } = peer.address() as AddressInfo;
    server = await startTestServer({ dialect });
    const apply = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: ops }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: worker }
spec:
  owner: ops
  tier: 3
  scrape: { intervalSeconds: 1, targets: ["127.0.0.1:${port}"], labels: { env: test } }
`,
    });
    expect(apply.status, await apply.text()).toBe(200);
    const telemetry = server.modules.telemetry as TelemetryService;
    const sampleOf = async (q: string) => (await telemetry.query({ query: q, time: Date.now() })) as PromResponse['data'];
    await waitUntil(async () => ((await sampleOf('jobs_done_total'))?.result.length ?? 0) === 2);
    const up = await sampleOf('up');
    expect(up?.result).toEqual([
      {
        metric: { __name__: 'up', job: 'worker', service: 'worker', instance: `127.0.0.1:${port}`, env: 'test' },
        value: expect.any(Array),
      },
    ]);
    expect(up?.result[0]?.value?.[1]).toBe('1');
    // Queue b disappears from the exposition: from the next scrape on it is gone, not held for 5 minutes.
    body = 'jobs_done_total{queue="a"} 2\n';
    await waitUntil(async () => ((await sampleOf('jobs_done_total'))?.result.length ?? 0) === 1);
    expect((await sampleOf('jobs_done_total'))?.result[0]?.metric.queue).toBe('a');
    // The target fails: up goes to 0.
    peer.close();
    peer.closeAllConnections();
    peer = undefined;
    await waitUntil(async () => (await sampleOf('up'))?.result[0]?.value?.[1] === '0');
  }, 30_000);
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met in time: ${check.toString().slice(0, 120)}`);
}
