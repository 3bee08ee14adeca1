import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Labels, Sample } from '../contracts.js';
import { decodeOtlpMetrics, encodeOtlpResponse, type OtlpEncoding } from './index.js';

/** A real OTLP/HTTP endpoint: captures bodies and answers with our own encoded response. */
interface Capture {
  url: string;
  bodies: Array<{ contentType: string; body: Buffer }>;
  server: Server;
}

async function startCapture(): Promise<Capture> {
  const bodies: Capture['bodies'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      bodies.push({ contentType, body: Buffer.concat(chunks) });
      const encoding: OtlpEncoding = contentType.includes('json') ? 'json' : 'protobuf';
      res.writeHead(200, { 'content-type': contentType });
      res.end(encodeOtlpResponse({ rejected: 0 }, encoding));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/metrics`, bodies, server };
}

const RESOURCE = { 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'i-1' };
const TARGET = { job: 'shop/checkout', service: 'checkout', instance: 'i-1' };

async function recordAndFlush(exporter: PushMetricExporter): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes(RESOURCE), readers: [reader] });
  const meter = provider.getMeter('opsdeck-test', '1.0.0');

  const requests = meter.createCounter('http.requests', { unit: '{request}' });
  requests.add(3, { method: 'GET', 'http.route': '/a' });
  requests.add(2, { method: 'GET', 'http.route': '/a' });
  requests.add(1, { method: 'POST', 'http.route': '/b' });

  const depth = meter.createUpDownCounter('queue.depth');
  depth.add(5, { queue: 'emails' });
  depth.add(-2, { queue: 'emails' });

  meter.createGauge('room.temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
  meter.createObservableGauge('process.memory.usage', { unit: 'By' }).addCallback((result) => result.observe(1234, { kind: 'heap' }));

  const duration = meter.createHistogram('http.server.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100] } });
  for (const v of [5, 50, 500]) duration.record(v, { method: 'GET' });

  await provider.forceFlush();
  await provider.shutdown();
}

function find(samples: Sample[], name: string, labels: Labels = {}): Sample[] {
  return samples.filter((s) => s.labels.__name__ === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function only(samples: Sample[], name: string, labels: Labels = {}): Sample {
  const found = find(samples, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!;
}

describe('OTLP decoding of real OpenTelemetry JS SDK exports', () => {
  let capture: Capture;
  beforeEach(async () => {
    capture = await startCapture();
  });
  afterEach(async () => {
    capture.server.close();
    await once(capture.server, 'close');
  });

  const exporters: Array<[OtlpEncoding, () => PushMetricExporter]> = [
    ['json', () => new JsonExporter({ url: capture.url })],
    ['protobuf', () => new ProtoExporter({ url: capture.url })],
  ];

  for (const [encoding, makeExporter] of exporters) {
    it(`converts counters, up-down counters, gauges and histograms sent as ${encoding}`, async () => {
      const before = Date.now();
      await recordAndFlush(makeExporter());
      // forceFlush exports once; shutdown may export the same cumulative state again.
      expect(capture.bodies.length).toBeGreaterThanOrEqual(1);
      const { contentType, body } = capture.bodies[0]!;
      expect(contentType).toContain(encoding === 'json' ? 'application/json' : 'application/x-protobuf');

      const { samples, rejected, errors } = decodeOtlpMetrics(body, encoding);
      expect(errors).toEqual([]);
      expect(rejected).toBe(0);

      // Monotonic cumulative sum → counter with `_total`; `{request}` is an annotation, not a unit.
      expect(only(samples, 'http_requests_total', { method: 'GET' }).labels).toEqual({
        __name__: 'http_requests_total',
        method: 'GET',
        http_route: '/a',
        ...TARGET,
      });
      expect(only(samples, 'http_requests_total', { method: 'GET' }).value).toBe(5);
      expect(only(samples, 'http_requests_total', { method: 'POST', http_route: '/b' }).value).toBe(1);

      // Non-monotonic sum and gauges → gauges, with UCUM units spelled out.
      expect(only(samples, 'queue_depth', { queue: 'emails', ...TARGET }).value).toBe(3);
      expect(only(samples, 'room_temperature_celsius', { room: 'lab' }).value).toBe(21.5);
      expect(only(samples, 'process_memory_usage_bytes', { kind: 'heap' }).value).toBe(1234);

      // Explicit-bucket histogram → cumulative `le` buckets, `+Inf`, `_sum`, `_count`.
      const buckets = find(samples, 'http_server_duration_milliseconds_bucket', { method: 'GET', ...TARGET });
      expect(buckets.map((s) => [s.labels.le, s.value])).toEqual([
        ['10', 1],
        ['100', 2],
        ['+Inf', 3],
      ]);
      expect(only(samples, 'http_server_duration_milliseconds_sum').value).toBe(555);
      expect(only(samples, 'http_server_duration_milliseconds_count').value).toBe(3);

      for (const s of samples) {
        expect(s.t).toBeGreaterThanOrEqual(before - 1);
        expect(s.t).toBeLessThanOrEqual(Date.now());
      }
      expect(samples).toHaveLength(2 + 1 + 1 + 1 + 3 + 2);
    });

    it(`rejects delta temporality sent as ${encoding}, naming the metric`, async () => {
      const exporter =
        encoding === 'json'
          ? new JsonExporter({ url: capture.url, temporalityPreference: AggregationTemporalityPreference.DELTA })
          : new ProtoExporter({ url: capture.url, temporalityPreference: AggregationTemporalityPreference.DELTA });
      await recordAndFlush(exporter);
      const { samples, rejected, errors } = decodeOtlpMetrics(capture.bodies[0]!.body, encoding);
      // Under the DELTA preference counters and histograms go delta; up-down counters and gauges stay cumulative.
      expect(rejected).toBe(2 + 1);
      expect(errors).toHaveLength(2);
      expect(errors.join('\n')).toMatch(/metric "http\.requests" \(sum\): delta temporality is not supported.*2 data points rejected/);
      expect(errors.join('\n')).toMatch(/metric "http\.server\.duration" \(histogram\): delta temporality/);
      expect(find(samples, 'queue_depth')).toHaveLength(1);
      expect(find(samples, 'http_requests_total')).toHaveLength(0);
    });
  }
});
