import { type Labels, type Sample, staleMarker } from '../contracts.js';
import { prometheusMetricName, sanitizeLabelName } from './names.js';
import {
  type Json,
  type JsonObject,
  OtlpShapeError,
  readArray,
  readAttributes,
  readBool,
  readDouble,
  readInt64,
  readNanosAsMs,
  readObject,
  readString,
  readTemporality,
  readUint,
  TEMPORALITY_CUMULATIVE,
  TEMPORALITY_DELTA,
} from './otlp-values.js';

/** What became of one OTLP metric: its samples were appended to the output, or it was rejected. */
export interface MetricOutcome {
  rejected: number;
  error?: string;
}

const NO_RECORDED_VALUE = 1;

// Attribute keys repeat across every point of a request; sanitising each once is worth a small cache.
const labelNameCache = new Map<string, string>();
function labelName(key: string): string {
  let name = labelNameCache.get(key);
  if (name === undefined) {
    name = sanitizeLabelName(key);
    if (labelNameCache.size > 10_000) labelNameCache.clear();
    labelNameCache.set(key, name);
  }
  return name;
}

/**
 * Resource attributes → the target labels: `job` from `service.namespace/service.name`, `instance`
 * from `service.instance.id`, and `service` as the plain service name opsdeck's console filters on.
 */
export function resourceLabels(attributes: Array<[string, string]>): Labels {
  let name = '';
  let namespace = '';
  let instance = '';
  for (const [key, value] of attributes) {
    if (key === 'service.name') name = value;
    else if (key === 'service.namespace') namespace = value;
    else if (key === 'service.instance.id') instance = value;
  }
  const labels: Labels = {};
  if (name !== '') {
    labels.job = namespace === '' ? name : `${namespace}/${name}`;
    labels.service = name;
  }
  if (instance !== '') labels.instance = instance;
  return labels;
}

/**
 * Point attributes → labels. Keys that sanitise to the same label are joined with `;` in the order
 * of their original keys, as the compatibility spec asks. Empty values are dropped because an
 * empty label and a missing one are the same series in Prometheus. Target labels win over
 * attributes: they identify where the data came from.
 */
function pointLabels(attributes: Array<[string, string]>, target: Labels): Labels {
  const labels: Labels = {};
  if (attributes.length > 1) attributes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [key, value] of attributes) {
    if (value === '') continue;
    const name = labelName(key);
    const prev = labels[name];
    labels[name] = prev === undefined ? value : `${prev};${value}`;
  }
  return Object.assign(labels, target);
}

function withName(name: string, base: Labels, extra?: [string, string]): Labels {
  const labels: Labels = { __name__: name, ...base };
  if (extra !== undefined) labels[extra[0]] = extra[1];
  return labels;
}

function push(out: Sample[], labels: Labels, value: number, t: number | undefined): void {
  out.push(t === undefined ? { labels, value } : { labels, value, t });
}

function formatBound(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** Converts one Metric, appending its samples to `out` only if the whole metric is acceptable. */
export function convertMetric(metricValue: Json, path: string, target: Labels, out: Sample[]): MetricOutcome {
  let label = path;
  let points = 0;
  try {
    const metric = readObject(metricValue, path);
    const rawName = readString(metric.name, `${path}.name`);
    label = `metric ${JSON.stringify(rawName)}`;
    const unit = readString(metric.unit, `${path}.unit`);
    const kind = dataKind(metric);
    if (kind === undefined)
      return { rejected: 0, error: `${label}: has no data (expected one of gauge, sum, histogram, exponentialHistogram, summary)` };
    label = `${label} (${kind})`;
    if (rawName === '') throw new OtlpShapeError(`${path}.name`, 'metric name is empty');
    const data = readObject(metric[kind], `${path}.${kind}`);
    const dataPoints = readArray(data.dataPoints, `${path}.${kind}.dataPoints`);
    points = dataPoints.length;
    const pointsPath = `${path}.${kind}.dataPoints`;

    if (kind === 'exponentialHistogram') {
      return reject(
        label,
        points,
        'exponential histograms are not converted (they need Prometheus native histograms); use explicit bucket histograms',
      );
    }
    if (kind === 'sum' || kind === 'histogram') {
      const temporality = readTemporality(data.aggregationTemporality, `${path}.${kind}.aggregationTemporality`);
      if (temporality === TEMPORALITY_DELTA) {
        return reject(label, points, 'delta temporality is not supported; configure the exporter for cumulative temporality');
      }
      if (temporality !== TEMPORALITY_CUMULATIVE) return reject(label, points, `aggregation temporality ${temporality} is not cumulative`);
    }

    const samples: Sample[] = [];
    const counter = kind === 'sum' && readBool(data.isMonotonic, `${path}.sum.isMonotonic`);
    const promKind = kind === 'histogram' || kind === 'summary' ? kind : counter ? 'counter' : 'gauge';
    const name = prometheusMetricName({ name: rawName, unit, kind: promKind });
    const convertPoint = kind === 'histogram' ? histogramPoint : kind === 'summary' ? summaryPoint : numberPoint;
    for (let i = 0; i < dataPoints.length; i++) convertPoint(dataPoints[i]!, `${pointsPath}[${i}]`, name, target, samples);
    for (const s of samples) out.push(s);
    return { rejected: 0 };
  } catch (err) {
    if (err instanceof OtlpShapeError) return reject(label, Math.max(points, 1), `malformed: ${err.message}`);
    throw err;
  }
}

function reject(label: string, points: number, why: string): MetricOutcome {
  return { rejected: points, error: `${label}: ${why} (${points} data point${points === 1 ? '' : 's'} rejected)` };
}

type DataKind = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
const DATA_KINDS: DataKind[] = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

function dataKind(metric: JsonObject): DataKind | undefined {
  for (const kind of DATA_KINDS) if (metric[kind] !== undefined && metric[kind] !== null) return kind;
  return undefined;
}

interface PointCommon {
  labels: Labels;
  t: number | undefined;
  /** The producer had no value for this interval: every series of the point gets a staleness marker. */
  stale: boolean;
}

function pointCommon(point: JsonObject, path: string, target: Labels): PointCommon {
  const flags = readUint(point.flags, `${path}.flags`);
  return {
    labels: pointLabels(readAttributes(point.attributes, `${path}.attributes`), target),
    t: readNanosAsMs(point.timeUnixNano, `${path}.timeUnixNano`),
    stale: (flags & NO_RECORDED_VALUE) !== 0,
  };
}

function numberPoint(value: Json, path: string, name: string, target: Labels, out: Sample[]): void {
  const point = readObject(value, path);
  const common = pointCommon(point, path, target);
  let v: number;
  if (common.stale) v = staleMarker();
  else if (point.asInt !== undefined && point.asInt !== null) v = readInt64(point.asInt, `${path}.asInt`);
  else v = readDouble(point.asDouble, `${path}.asDouble`);
  push(out, withName(name, common.labels), v, common.t);
}

function histogramPoint(value: Json, path: string, name: string, target: Labels, out: Sample[]): void {
  const point = readObject(value, path);
  const { labels, t, stale } = pointCommon(point, path, target);
  const count = readUint(point.count, `${path}.count`);
  const bounds = readArray(point.explicitBounds, `${path}.explicitBounds`).map((b, i) => readDouble(b, `${path}.explicitBounds[${i}]`));
  const counts = readArray(point.bucketCounts, `${path}.bucketCounts`).map((c, i) => readUint(c, `${path}.bucketCounts[${i}]`));
  if (counts.length !== 0 && counts.length !== bounds.length + 1) {
    throw new OtlpShapeError(
      `${path}.bucketCounts`,
      `expected ${bounds.length + 1} bucket counts for ${bounds.length} explicit bounds, got ${counts.length}`,
    );
  }
  for (let i = 1; i < bounds.length; i++) {
    if (!(bounds[i]! > bounds[i - 1]!))
      throw new OtlpShapeError(`${path}.explicitBounds[${i}]`, 'explicit bounds must be strictly increasing');
  }
  const marker = stale ? staleMarker() : 0;
  // OTLP buckets hold per-bucket counts; Prometheus' `le` buckets are cumulative.
  let cumulative = 0;
  for (let i = 0; i < bounds.length && counts.length > 0; i++) {
    cumulative += counts[i]!;
    push(out, withName(`${name}_bucket`, labels, ['le', formatBound(bounds[i]!)]), stale ? marker : cumulative, t);
  }
  push(out, withName(`${name}_bucket`, labels, ['le', '+Inf']), stale ? marker : count, t);
  if (point.sum !== undefined && point.sum !== null) {
    push(out, withName(`${name}_sum`, labels), stale ? marker : readDouble(point.sum, `${path}.sum`), t);
  }
  push(out, withName(`${name}_count`, labels), stale ? marker : count, t);
}

function summaryPoint(value: Json, path: string, name: string, target: Labels, out: Sample[]): void {
  const point = readObject(value, path);
  const { labels, t, stale } = pointCommon(point, path, target);
  const marker = stale ? staleMarker() : 0;
  readArray(point.quantileValues, `${path}.quantileValues`).forEach((q, i) => {
    const qPath = `${path}.quantileValues[${i}]`;
    const entry = readObject(q, qPath);
    const quantile = readDouble(entry.quantile, `${qPath}.quantile`);
    if (!(quantile >= 0 && quantile <= 1)) throw new OtlpShapeError(`${qPath}.quantile`, `quantile must be within [0, 1], got ${quantile}`);
    push(out, withName(name, labels, ['quantile', formatBound(quantile)]), stale ? marker : readDouble(entry.value, `${qPath}.value`), t);
  });
  push(out, withName(`${name}_sum`, labels), stale ? marker : readDouble(point.sum, `${path}.sum`), t);
  push(out, withName(`${name}_count`, labels), stale ? marker : readUint(point.count, `${path}.count`), t);
}
