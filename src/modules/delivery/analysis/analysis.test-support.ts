import { LATENCY_BUCKETS_MS, type VersionTraffic } from '../../../agent/protocol.js';
import type { FakeClock } from '../../../core/clock.js';
import type { DialectName } from '../../../core/db/database.js';
import { defineModule } from '../../../core/module.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import { type CatalogApi, catalogModule } from '../../catalog/index.js';
import { type RuntimeApi, runtimeModule } from '../../runtime/index.js';
import { apply, createToken, json, postReport, report, serviceDoc, TEAM } from '../../runtime/runtime.test-support.js';
import { type TelemetryApi, telemetryModule } from '../../telemetry/index.js';
import type { AnalysisService, DeliveryContext } from '../contracts.js';
import type { AnalysisRunDetails } from './analysis.service.js';
import { analysisMigrations, analysisTemplateKind, setupAnalysis } from './index.js';

// Analysis as the delivery module will wire it: the kind, the migrations, setupAnalysis with a
// DeliveryContext over the real catalog and runtime modules.

export const analysisModule = defineModule<AnalysisService>({
  id: 'delivery',
  deps: ['catalog', 'runtime', 'telemetry'],
  migrations: analysisMigrations,
  setup(ctx) {
    ctx.core.resources.register(analysisTemplateKind);
    const delivery: DeliveryContext = {
      core: ctx.core,
      catalog: ctx.deps.catalog as CatalogApi,
      runtime: ctx.deps.runtime as RuntimeApi,
      telemetry: ctx.deps.telemetry as TelemetryApi,
      logger: ctx.logger,
      route: ctx.route,
    };
    return setupAnalysis(delivery);
  },
});

export interface AnalysisHarness {
  server: TestServer;
  analysis: AnalysisService;
  agentToken: string;
}

/** A server with catalog, runtime and analysis; API role only, so jobs run when the test says (runDue). */
export async function startAnalysisServer(dialect: DialectName, clock: FakeClock, store?: TestServer['store']): Promise<AnalysisHarness> {
  const server = await startTestServer({
    dialect,
    clock,
    role: 'api',
    store,
    modules: [catalogModule, runtimeModule, telemetryModule, analysisModule],
  });
  const analysis = server.modules.delivery as AnalysisService;
  const agentToken = await createToken(server, `agent-${Math.random().toString(36).slice(2, 8)}`, 'agent');
  if (!store) {
    const res = await apply(server, TEAM, serviceDoc('feed', undefined), serviceDoc('cart', undefined));
    if (res.status !== 200) throw new Error(`apply: ${res.status} ${await res.text()}`);
  }
  return { ...{ server, analysis, agentToken } };
}

export interface Served {
  version: string;
  requests: number;
  errors?: number;
  /** Share of requests in the 20 ms bucket; the rest take 10 ms. Default 0.3. */
  slowShare?: number;
  /** Latency bucket bound of the slow share; default 20. */
  slowMs?: number;
}

/** Posts one agent report with traffic over the last `intervalMs` up to now. */
export async function serve(h: AnalysisHarness, clock: FakeClock, service: string, served: Served[], intervalMs = 5000): Promise<void> {
  const now = clock.now();
  const traffic: VersionTraffic[] = served.map((s) => {
    const latencyBuckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    const slow = Math.round(s.requests * (s.slowShare ?? 0.3));
    latencyBuckets[LATENCY_BUCKETS_MS.indexOf(10)] += s.requests - slow;
    latencyBuckets[LATENCY_BUCKETS_MS.indexOf(s.slowMs ?? 20)] += slow;
    const errors = s.errors ?? 0;
    return {
      service,
      version: s.version,
      from: now - intervalMs,
      to: now,
      requests: s.requests,
      byClass: { '2xx': s.requests - errors, '5xx': errors },
      latencyBuckets,
    };
  });
  const res = await postReport(h.server, report({ at: now, traffic }), h.agentToken);
  if (res.status !== 200) throw new Error(`report: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function runView(h: AnalysisHarness, id: string): Promise<AnalysisRunDetails> {
  const { status, body } = await json<AnalysisRunDetails>(h.server.request(`/api/v1/analysis-runs/${id}`));
  if (status !== 200) throw new Error(`GET run ${id}: ${status}`);
  return body;
}

/** Advances the clock by `stepMs`, lets `feed` report traffic for the step, and runs due jobs; up to `steps` times or until the run ends. */
export async function drive(
  h: AnalysisHarness,
  clock: FakeClock,
  runId: string,
  options: { steps: number; stepMs?: number; traffic?: (step: number) => { service: string; served: Served[] } | undefined },
): Promise<AnalysisRunDetails> {
  const stepMs = options.stepMs ?? 5000;
  for (let step = 1; step <= options.steps; step++) {
    clock.advance(stepMs);
    const traffic = options.traffic?.(step);
    if (traffic) await serve(h, clock, traffic.service, traffic.served, stepMs);
    await h.server.core.jobs.runDue();
    const run = await h.analysis.get(runId);
    if (run && run.phase !== 'Running') break;
  }
  return runView(h, runId);
}
