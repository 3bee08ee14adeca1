import { Counter } from 'prom-client';
import type { FieldIssue } from '../../core/errors.js';
import { defineModule } from '../../core/module.js';
import type { RuntimeApi } from '../runtime/index.js';
import { ingestRoutes } from './http/ingest.routes.js';
import { prometheusApiRoutes } from './http/prometheus-api.routes.js';
import { MetricsProviderSpec, ServiceMetricsSection } from './providers/provider.schema.js';
import { RouterMetrics } from './scrape/router-metrics.js';
import { ScrapeSection } from './scrape/scrape.schema.js';
import { Scraper } from './scrape/scraper.js';
import { scrapeTargets } from './scrape/targets.js';
import { createMetricStore } from './store/metric-store.js';
import { telemetryMigrations } from './telemetry.migrations.js';
import { createTelemetryService, METRICS_PROVIDER_KIND, type TelemetryService } from './telemetry.service.js';

export type { LabelMatcher, Labels, QueryData, RawSeries, Sample, SeriesSource } from './contracts.js';
export { parsePromDuration } from './http/prom-params.js';
export { checkPromql } from './promql-check.js';
export type { InstantQuery, RangeQuery, TelemetryService as TelemetryApi } from './telemetry.service.js';
export { METRICS_PROVIDER_KIND } from './telemetry.service.js';

const DAY = 86_400_000;
/** How stale the scrape target list may get: new services and instances are picked up within this. */
const TARGETS_REFRESH_MS = 5000;

/** Settings with their environment overrides (documented in docs/telemetry.md). */
function settings(env: NodeJS.ProcessEnv) {
  const days = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return Number.isFinite(v) && v > 0 ? v * DAY : fallback * DAY;
  };
  const maxSeries = Number(env.OPSDECK_METRICS_MAX_SERIES_PER_METRIC);
  return {
    retentionMs: days('OPSDECK_METRICS_RETENTION_DAYS', 15),
    rollupRetentionMs: days('OPSDECK_METRICS_ROLLUP_RETENTION_DAYS', 90),
    maxSeriesPerMetric: Number.isInteger(maxSeries) && maxSeries > 0 ? maxSeries : 10_000,
  };
}

/**
 * Telemetry: metric ingest (scrape, push, OTLP), the built-in store with rollups and retention,
 * PromQL on Prometheus-compatible endpoints, and MetricsProviders that pass queries through to
 * a Prometheus.
 */
export const telemetryModule = defineModule<TelemetryService>({
  id: 'telemetry',
  deps: ['runtime'],
  migrations: telemetryMigrations,
  setup(ctx) {
    const { core } = ctx;
    const runtime = ctx.deps.runtime as RuntimeApi;
    const options = settings(process.env);
    const rejectedSeries = new Counter({
      name: 'opsdeck_telemetry_rejected_series_total',
      help: 'New series refused because their metric reached the per-metric series limit.',
      labelNames: ['metric'],
      registers: [core.metrics],
    });
    const store = createMetricStore({
      database: core.database,
      now: () => core.clock.now(),
      rejectedSeries,
      ...options,
    });
    const telemetry = createTelemetryService(core, store);

    core.resources.register<MetricsProviderSpec>({
      kind: METRICS_PROVIDER_KIND,
      module: 'telemetry',
      description: 'Where queries go: the built-in store, or a Prometheus-compatible server they pass through to unchanged.',
      spec: MetricsProviderSpec,
      validate(doc) {
        const issues: FieldIssue[] = [];
        if (doc.spec.type === 'prometheus') {
          if (!doc.spec.url) issues.push({ pointer: '/spec/url', message: 'a prometheus provider needs url' });
          else if (!/^https?:\/\/[^\s/]+/.test(doc.spec.url)) issues.push({ pointer: '/spec/url', message: 'must be an http(s) URL' });
        } else if (doc.spec.url || doc.spec.auth) {
          issues.push({ pointer: '/spec/type', message: 'url and auth only apply to type prometheus' });
        }
        return issues;
      },
      columns: [
        { header: 'TYPE', value: (d) => d.spec.type },
        { header: 'URL', value: (d) => d.spec.url ?? '' },
      ],
    });
    core.resources.extend('Service', 'scrape', ScrapeSection, 'telemetry');
    core.resources.extend('Service', 'metrics', ServiceMetricsSection, 'telemetry', {
      async validate(doc, lookup) {
        const name = (doc.spec as { metrics?: { provider?: string } }).metrics?.provider;
        if (name && !(await lookup(METRICS_PROVIDER_KIND, name))) {
          return [{ pointer: '/spec/metrics/provider', message: `MetricsProvider '${name}' does not exist` }];
        }
        return [];
      },
    });

    const scraper = new Scraper({ now: () => core.clock.now(), write: (batch, at) => store.writeBatch(batch, at) });
    // Ticks come every second so 1 s intervals are honoured; the target list (a resource listing
    // and an instance query per service) is rebuilt at most every TARGETS_REFRESH_MS.
    let targets: { at: number; list: Awaited<ReturnType<typeof scrapeTargets>> } | undefined;
    core.jobs.recurring({
      id: 'telemetry.scrape',
      scope: 'global',
      schedule: { every: 1000 },
      async run({ scheduledAt }) {
        const now = core.clock.now();
        if (!targets || now - targets.at >= TARGETS_REFRESH_MS) targets = { at: now, list: await scrapeTargets(core, runtime) };
        await scraper.tick(targets.list, scheduledAt);
      },
    });
    // The agents' router traffic, as reported to the runtime, becomes series like any scrape.
    const routerMetrics = new RouterMetrics(runtime);
    core.jobs.recurring({
      id: 'telemetry.router-metrics',
      scope: 'global',
      schedule: { every: 15_000 },
      async run() {
        const services = (await core.resources.list<{ runtime?: unknown }>('Service'))
          .filter((s) => s.spec.runtime)
          .map((s) => s.metadata.name);
        const samples = await routerMetrics.collect(services, core.clock.now());
        if (samples.length) await store.write(samples);
      },
    });
    core.jobs.recurring({
      id: 'telemetry.rollup',
      scope: 'global',
      schedule: { every: 60_000 },
      run: async () => void (await store.rollup()),
    });
    core.jobs.recurring({
      id: 'telemetry.retention',
      scope: 'global',
      schedule: { every: 3_600_000 },
      run: async () => void (await store.prune()),
    });

    for (const route of [...prometheusApiRoutes(telemetry), ...ingestRoutes(telemetry)]) ctx.route(route);
    return telemetry;
  },
});
