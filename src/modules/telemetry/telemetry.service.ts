import { notFound } from '../../core/errors.js';
import type { Core } from '../../core/module.js';
import type { QueryData, Sample } from './contracts.js';
import { evaluateInstant, evaluateRange, parsePromql } from './promql/index.js';
import { type PrometheusClient, prometheusClient } from './providers/prometheus-client.js';
import type { MetricsProviderSpec } from './providers/provider.schema.js';
import type { MetricStore, SampleBatch, WriteResult } from './store/metric-store.js';

export const METRICS_PROVIDER_KIND = 'MetricsProvider';

export interface InstantQuery {
  query: string;
  /** Epoch ms. */
  time: number;
  /** A MetricsProvider name; the built-in store when absent or of type builtin. */
  provider?: string;
}

export interface RangeQuery {
  query: string;
  start: number;
  end: number;
  step: number;
  provider?: string;
}

export interface TelemetryService {
  store: MetricStore;
  now(): number;
  write(samples: Sample[]): Promise<WriteResult>;
  /** Samples without a timestamp get `defaultTimestamp`, else now. */
  writeBatch(batch: SampleBatch, defaultTimestamp?: number): Promise<WriteResult>;
  query(q: InstantQuery): Promise<QueryData>;
  queryRange(q: RangeQuery): Promise<QueryData>;
}

const seconds = (ms: number) => String(ms / 1000);

/**
 * Queries go to the built-in store or, for a `prometheus` MetricsProvider, through to that
 * Prometheus unchanged. Clients (with their circuit breakers) are kept per provider generation.
 */
export function createTelemetryService(core: Core, store: MetricStore): TelemetryService {
  const clients = new Map<string, { generation: number; client: PrometheusClient }>();

  async function remote(name: string | undefined): Promise<PrometheusClient | undefined> {
    if (!name) return undefined;
    const res = await core.resources.get<MetricsProviderSpec>(METRICS_PROVIDER_KIND, name);
    if (!res) throw notFound(`MetricsProvider '${name}' does not exist`);
    if (res.spec.type === 'builtin') return undefined;
    const cached = clients.get(name);
    if (cached && cached.generation === res.generation) return cached.client;
    const client = prometheusClient(name, res.spec);
    clients.set(name, { generation: res.generation, client });
    return client;
  }

  return {
    store,
    now: () => core.clock.now(),
    write: (samples) => store.write(samples, core.clock.now()),
    writeBatch: (batch, defaultTimestamp) => store.writeBatch(batch, defaultTimestamp ?? core.clock.now()),
    async query(q) {
      const client = await remote(q.provider);
      if (client) return client.query({ query: q.query, time: seconds(q.time) });
      return evaluateInstant({ source: store, expr: parsePromql(q.query), time: q.time });
    },
    async queryRange(q) {
      const client = await remote(q.provider);
      if (client) return client.queryRange({ query: q.query, start: seconds(q.start), end: seconds(q.end), step: seconds(q.step) });
      return evaluateRange({ source: store, expr: parsePromql(q.query), start: q.start, end: q.end, step: q.step });
    },
  };
}
