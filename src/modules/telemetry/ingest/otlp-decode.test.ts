import { describe, expect, it } from 'vitest';
import { isStaleMarker, type Sample } from '../contracts.js';
import { decodeOtlpMetrics, encodeOtlpResponse, OtlpDecodeError } from './index.js';
import { decodeExportResponseProto, encodeExportRequestProto } from './otlp-proto.js';

const T_NS = '1700000000123456789';
const T_MS = 1700000000123;

function request(metrics: unknown[], resourceAttributes: unknown[] = [{ key: 'service.name', value: { stringValue: 'api' } }]) {
  return { resourceMetrics: [{ resource: { attributes: resourceAttributes }, scopeMetrics: [{ scope: { name: 's' }, metrics }] }] };
}

function gauge(name: string, point: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { name, ...extra, gauge: { dataPoints: [{ timeUnixNano: T_NS, ...point }] } };
}

/** Decodes the request as JSON text and as protobuf bytes; both must give the same result. */
function decodeBoth(req: Record<string, unknown>) {
  const json = decodeOtlpMetrics(JSON.stringify(req), 'json');
  const proto = decodeOtlpMetrics(Buffer.from(encodeExportRequestProto(req)), 'protobuf');
  expect(proto.samples).toEqual(json.samples);
  expect(proto.rejected).toBe(json.rejected);
  return json;
}

const byName = (samples: Sample[], name: string) => samples.filter((s) => s.labels.__name__ === name);

describe('decodeOtlpMetrics', () => {
  it('maps names, units, attributes and resource to Prometheus labels', () => {
    const { samples } = decodeBoth(
      request(
        [
          gauge(
            'http.server/active-requests',
            { asInt: '7', attributes: [{ key: '2xx', value: { stringValue: 'a' } }] },
            { unit: '{request}' },
          ),
          gauge('2fast', { asDouble: 1.5 }, { unit: 's' }),
          gauge('cpu.utilization', { asDouble: 0.25 }, { unit: '1' }),
          gauge('net.io', { asDouble: 9 }, { unit: 'By/s' }),
          {
            name: 'jobs_total',
            sum: { isMonotonic: true, aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', dataPoints: [{ asInt: 4 }] },
          },
        ],
        [
          { key: 'service.name', value: { stringValue: 'api' } },
          { key: 'service.instance.id', value: { stringValue: 'pod-1' } },
          { key: 'host.name', value: { stringValue: 'ignored' } },
        ],
      ),
    );
    const target = { job: 'api', service: 'api', instance: 'pod-1' };
    expect(samples).toEqual([
      { labels: { __name__: 'http_server_active_requests', key_2xx: 'a', ...target }, value: 7, t: T_MS },
      { labels: { __name__: '_2fast_seconds', ...target }, value: 1.5, t: T_MS },
      { labels: { __name__: 'cpu_utilization_ratio', ...target }, value: 0.25, t: T_MS },
      { labels: { __name__: 'net_io_bytes_per_second', ...target }, value: 9, t: T_MS },
      // `_total` is not doubled; a missing timestamp means "at ingest time".
      { labels: { __name__: 'jobs_total', ...target }, value: 4 },
    ]);
  });

  it('joins colliding attribute keys with ";" in key order and stringifies non-string values', () => {
    const { samples } = decodeBoth(
      request(
        [
          gauge('g', {
            asDouble: 1,
            attributes: [
              { key: 'a.b', value: { stringValue: 'dot' } },
              { key: 'a-b', value: { stringValue: 'dash' } },
              { key: 'ok', value: { boolValue: true } },
              { key: 'n', value: { intValue: '42' } },
              { key: 'd', value: { doubleValue: 0.5 } },
              { key: 'list', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 1 }, { boolValue: false }] } } },
              { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
              { key: 'empty', value: { stringValue: '' } },
              { key: 'job', value: { stringValue: 'overridden by the resource' } },
            ],
          }),
        ],
        [
          { key: 'service.name', value: { stringValue: 'api' } },
          { key: 'service.namespace', value: { stringValue: 'shop' } },
        ],
      ),
    );
    expect(samples[0]!.labels).toEqual({
      __name__: 'g',
      a_b: 'dash;dot',
      ok: 'true',
      n: '42',
      d: '0.5',
      list: '["x",1,false]',
      map: '{"k":"v"}',
      job: 'shop/api',
      service: 'api',
    });
  });

  it('converts summaries and marks points without a recorded value as stale', () => {
    const { samples } = decodeBoth(
      request([
        {
          name: 'rpc.latency',
          summary: {
            dataPoints: [
              {
                timeUnixNano: T_NS,
                count: '10',
                sum: 2.5,
                quantileValues: [
                  { quantile: 0.5, value: 0.2 },
                  { quantile: 0.99, value: 0.9 },
                ],
              },
            ],
          },
        },
        gauge('up', { asDouble: 1, flags: 1 }),
        {
          name: 'h',
          histogram: { aggregationTemporality: 2, dataPoints: [{ flags: 1, count: '0', bucketCounts: ['0', '0'], explicitBounds: [1] }] },
        },
      ]),
    );
    expect(byName(samples, 'rpc_latency').map((s) => [s.labels.quantile, s.value])).toEqual([
      ['0.5', 0.2],
      ['0.99', 0.9],
    ]);
    expect(byName(samples, 'rpc_latency_sum')[0]!.value).toBe(2.5);
    expect(byName(samples, 'rpc_latency_count')[0]!.value).toBe(10);
    expect(isStaleMarker(byName(samples, 'up')[0]!.value)).toBe(true);
    const hist = samples.filter((s) => s.labels.__name__?.startsWith('h_'));
    expect(hist.map((s) => s.labels.__name__)).toEqual(['h_bucket', 'h_bucket', 'h_count']);
    expect(hist.every((s) => isStaleMarker(s.value))).toBe(true);
  });

  it('accepts the proto3 JSON spellings of non-finite doubles and numeric int64', () => {
    const { samples } = decodeOtlpMetrics(
      request([
        gauge('a', { asDouble: 'NaN' }),
        gauge('b', { asDouble: '-Infinity' }),
        gauge('c', { asInt: 12, timeUnixNano: 1_700_000_000_000_000_000 }),
      ]),
      'json',
    );
    expect(samples.map((s) => s.value)).toEqual([Number.NaN, Number.NEGATIVE_INFINITY, 12]);
    expect(isStaleMarker(samples[0]!.value)).toBe(false);
    expect(samples[2]!.t).toBe(1_700_000_000_000);
  });

  it('rejects exponential histograms and delta sums per metric, keeping the rest', () => {
    const result = decodeBoth(
      request([
        { name: 'exp', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ count: '1', scale: 2 }, { count: '2' }] } },
        { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '1' }] } },
        { name: 'u', sum: { aggregationTemporality: 0, dataPoints: [{ asInt: '1' }] } },
        gauge('kept', { asDouble: 1 }),
      ]),
    );
    expect(result.samples.map((s) => s.labels.__name__)).toEqual(['kept']);
    expect(result.rejected).toBe(4);
    expect(result.errors).toEqual([
      'metric "exp" (exponentialHistogram): exponential histograms are not converted (they need Prometheus native histograms); use explicit bucket histograms (2 data points rejected)',
      'metric "d" (sum): delta temporality is not supported; configure the exporter for cumulative temporality (1 data point rejected)',
      'metric "u" (sum): aggregation temporality 0 is not cumulative (1 data point rejected)',
    ]);
  });

  it('rejects a malformed metric with the path of the bad field', () => {
    const result = decodeOtlpMetrics(
      request([
        gauge('bad', { asDouble: 'lots' }),
        {
          name: 'h',
          histogram: { aggregationTemporality: 2, dataPoints: [{ count: '3', bucketCounts: ['1', '2'], explicitBounds: [1, 2] }] },
        },
        { name: 'nodata' },
        gauge('good', { asDouble: 1 }),
      ]),
      'json',
    );
    expect(result.samples).toHaveLength(1);
    expect(result.rejected).toBe(2);
    expect(result.errors).toEqual([
      'metric "bad" (gauge): malformed: resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asDouble: expected a number, got string "lots" (1 data point rejected)',
      'metric "h" (histogram): malformed: resourceMetrics[0].scopeMetrics[0].metrics[1].histogram.dataPoints[0].bucketCounts: expected 3 bucket counts for 2 explicit bounds, got 2 (1 data point rejected)',
      'metric "nodata": has no data (expected one of gauge, sum, histogram, exponentialHistogram, summary)',
    ]);
  });

  it('throws OtlpDecodeError for unreadable bodies', () => {
    expect(() => decodeOtlpMetrics('{"resourceMetrics": [', 'json')).toThrow(OtlpDecodeError);
    expect(() => decodeOtlpMetrics('{"resourceMetrics": [', 'json')).toThrow(/invalid OTLP\/JSON body/);
    expect(() => decodeOtlpMetrics({ resourceMetrics: {} }, 'json')).toThrow(
      'invalid ExportMetricsServiceRequest: resourceMetrics: expected an array, got an object',
    );
    expect(() => decodeOtlpMetrics({ resourceMetrics: [{ scopeMetrics: [7] }] }, 'json')).toThrow(
      'resourceMetrics[0].scopeMetrics[0]: expected an object, got number 7',
    );
    expect(() => decodeOtlpMetrics(Buffer.from([0x0a, 0xff, 0xff, 0x01]), 'protobuf')).toThrow(/invalid OTLP\/protobuf body/);
    expect(() => decodeOtlpMetrics('text', 'protobuf')).toThrow(/raw bytes/);
    expect(decodeOtlpMetrics(Buffer.alloc(0), 'protobuf')).toEqual({ samples: [], rejected: 0, errors: [] });
  });
});

describe('encodeOtlpResponse', () => {
  it('leaves partialSuccess unset on full success', () => {
    expect(encodeOtlpResponse({ rejected: 0 }, 'json')).toBe('{}');
    expect(encodeOtlpResponse({ rejected: 0 }, 'protobuf')).toHaveLength(0);
  });

  it('reports rejected points in JSON (int64 as string) and protobuf', () => {
    expect(JSON.parse(encodeOtlpResponse({ rejected: 3, errorMessage: 'delta' }, 'json'))).toEqual({
      partialSuccess: { rejectedDataPoints: '3', errorMessage: 'delta' },
    });
    const bytes = encodeOtlpResponse({ rejected: 3, errorMessage: 'delta' }, 'protobuf');
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(decodeExportResponseProto(bytes)).toEqual({ partialSuccess: { rejectedDataPoints: 3, errorMessage: 'delta' } });
  });
});
