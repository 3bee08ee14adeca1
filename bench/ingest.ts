/**
 * Telemetry ingest: samples/s written into the built-in store, on SQLite and PostgreSQL, through
 *  - push: `POST /api/v1/metrics`, Prometheus text with timestamps, batches of 1k and 10k samples
 *    over 10k series (20 metrics, 6 labels), timestamps advancing 1 s per round, 4 pushers;
 *  - OTLP/HTTP protobuf `POST /v1/metrics`, the same series as gauges, batches of 10k points;
 *  - scrape: `Service.spec.scrape` with 4 node:http targets × 10k series at a 1 s interval
 *    (40k samples/s offered; BENCH_SCRAPE_TARGETS=10 offers 100k), sustained rate from the row count.
 * Peer in the same run: real Prometheus scraping the same targets at 1 s (samples/s from its
 * own prometheus_tsdb_head_samples_appended_total), and the exposition parser alone as the ceiling.
 * Written = rows added to telemetry_samples during the window (read straight from the store).
 * CPU per sample is the server process' user+system time over the window divided by samples written.
 *
 *   npm run bench -- ingest       (BENCH_DURATION_S=6 per case; OPSDECK_BENCH_STORES=sqlite)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BoundedSeriesCache, type ParsedSeries, parseExposition, parseExpositionBatch } from '../src/modules/telemetry/ingest/index.js';
import { encodeExportRequestProto } from '../src/modules/telemetry/ingest/otlp-proto.js';
import { createMetricStore, type SeriesHandle } from '../src/modules/telemetry/store/metric-store.js';
import { telemetryMigrations } from '../src/modules/telemetry/telemetry.migrations.js';
import { openTestDatabase } from '../src/testing/databases.js';
import type { BenchResult } from './harness.js';
import {
  apply,
  cpuSeconds,
  latencyStats,
  loadNote,
  type Opsdeck,
  round,
  STORES,
  type Store,
  startOpsdeck,
  startPrometheus,
} from './telemetry/processes.js';
import { type BenchSeries, type ExpositionEndpoint, exposition, seriesSet, startExposition } from './telemetry/series.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 6) * 1000;
const SERIES = 10_000;
const METRICS = 20;
const PUSHERS = 4;
const SCRAPE_TARGETS = Number(process.env.BENCH_SCRAPE_TARGETS ?? 4);
const SCRAPE_SERIES = Number(process.env.BENCH_SCRAPE_SERIES ?? 10_000);
const TARGET_PER_S = 100_000;
/** BENCH_INGEST_CASES=push1k,push10k,otlp,scrape,prometheus,inprocess (all by default): for profiling one path. */
const CASES = new Set((process.env.BENCH_INGEST_CASES ?? 'push1k,push10k,otlp,scrape,prometheus,inprocess').split(','));
/** Pushed timestamps start this far back and advance 1 s per round over the series set. */
const HISTORY_MS = 6 * 3_600_000;

type Row = Record<string, string | number>;

/** Round counter per server, so every case writes new (series, t) pairs. */
class Rounds {
  next = 0;
  readonly t0 = Math.floor((Date.now() - HISTORY_MS) / 1000) * 1000;
}

interface PushShape {
  encoding: 'text' | 'otlp';
  batch: number;
}

function textBody(series: BenchSeries[], chunk: number, batch: number, round: number, t: number): string {
  return exposition(series.slice(chunk * batch, (chunk + 1) * batch), round, t);
}

/** OTLP gauges, one resource (service.name → job/service); attributes become labels. */
function otlpBody(series: BenchSeries[], chunk: number, batch: number, round: number, t: number): Uint8Array {
  const byMetric = new Map<string, unknown[]>();
  const timeUnixNano = `${t}000000`;
  for (let i = chunk * batch; i < Math.min(series.length, (chunk + 1) * batch); i++) {
    const s = series[i]!;
    let points = byMetric.get(s.metric);
    if (!points) {
      points = [];
      byMetric.set(s.metric, points);
    }
    points.push({ timeUnixNano, asDouble: round * ((i % 7) + 1), attributes: otlpAttributes(s) });
  }
  return encodeExportRequestProto({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench-otlp' } }] },
        scopeMetrics: [
          {
            scope: { name: 'bench' },
            metrics: [...byMetric].map(([name, dataPoints]) => ({ name: name.replace('_total', '_otlp'), gauge: { dataPoints } })),
          },
        ],
      },
    ],
  });
}

const attributeCache = new WeakMap<BenchSeries, unknown[]>();
function otlpAttributes(s: BenchSeries): unknown[] {
  let a = attributeCache.get(s);
  if (!a) {
    const { instance, ...rest } = s.labels;
    a = Object.entries({ ...rest, host: instance! }).map(([key, v]) => ({ key, value: { stringValue: v } }));
    attributeCache.set(s, a);
  }
  return a;
}

/** PUSHERS concurrent clients push consecutive chunks for DURATION_MS; latency per request. */
async function push(server: Opsdeck, rounds: Rounds, series: BenchSeries[], shape: PushShape): Promise<Row> {
  const chunksPerRound = Math.ceil(series.length / shape.batch);
  const path = shape.encoding === 'text' ? '/api/v1/metrics' : '/v1/metrics';
  const contentType = shape.encoding === 'text' ? 'text/plain; version=0.0.4' : 'application/x-protobuf';
  let seq = rounds.next * chunksPerRound;
  const body = () => {
    const k = seq++;
    const r = Math.floor(k / chunksPerRound);
    const chunk = k % chunksPerRound;
    const t = rounds.t0 + r * 1000;
    return shape.encoding === 'text' ? textBody(series, chunk, shape.batch, r, t) : otlpBody(series, chunk, shape.batch, r, t);
  };
  const send = async (b: string | Uint8Array) => {
    const res = await server.request(path, { method: 'POST', headers: { 'content-type': contentType }, body: b });
    const payload = shape.encoding === 'text' ? await res.text() : await res.arrayBuffer();
    if (!res.ok) throw new Error(`push ${path} → ${res.status}: ${String(payload).slice(0, 300)}`);
  };
  // Warm-up outside the window: the first round creates the series; a second one warms the JIT.
  const warmStart = performance.now();
  while (seq < (rounds.next + 1) * chunksPerRound) await send(body());
  const firstRoundMs = performance.now() - warmStart;
  while (seq < (rounds.next + 2) * chunksPerRound) await send(body());

  const rowsBefore = await server.countSamples();
  const cpuBefore = cpuSeconds(server.child.pid);
  const clientBefore = process.cpuUsage();
  const latencies: number[] = [];
  const begin = performance.now();
  const deadline = begin + DURATION_MS;
  await Promise.all(
    Array.from({ length: PUSHERS }, async () => {
      while (performance.now() < deadline) {
        const b = body();
        const sent = performance.now();
        await send(b);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
  const cpu = cpuSeconds(server.child.pid) - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  const written = (await server.countSamples()) - rowsBefore;
  rounds.next = Math.ceil(seq / chunksPerRound) + 1;
  return {
    store: server.store,
    path: shape.encoding === 'text' ? 'push text' : 'push OTLP protobuf',
    case: `${shape.batch} samples/request, ${PUSHERS} pushers`,
    ...latencyStats(latencies),
    samples_per_s: Math.round(written / seconds),
    vs_target: round(written / seconds / TARGET_PER_S, 2),
    server_cpu_us_per_sample: round((cpu * 1e6) / written, 2),
    first_round_per_s: Math.round(series.length / (firstRoundMs / 1000)),
    client_cpu_pct: round(((client.user + client.system) / 1e6 / seconds) * 100, 0),
  };
}

/** Exposition endpoints for the scrape cases: each target serves the same series; `instance` tells them apart. */
async function startTargets(): Promise<ExpositionEndpoint[]> {
  const series = seriesSet(SCRAPE_SERIES, METRICS, 'bench_scraped');
  // The target sets `instance`; the scraped one is called `pod` here (Prometheus would keep it as exported_instance).
  for (const s of series) s.prefix = s.prefix.replace('instance="', 'pod="');
  return Promise.all(Array.from({ length: SCRAPE_TARGETS }, () => startExposition(series)));
}

/** Waits until `check` holds, polling every 250 ms. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function scrape(server: Opsdeck, targets: ExpositionEndpoint[]): Promise<Row> {
  const team = 'apiVersion: opsdeck.dev/v1\nkind: Team\nmetadata: { name: bench-team }\nspec: { members: [] }\n';
  const svc = [
    'apiVersion: opsdeck.dev/v1',
    'kind: Service',
    'metadata: { name: bench-scraped }',
    'spec:',
    '  owner: bench-team',
    '  scrape:',
    '    intervalSeconds: 1',
    '    timeoutSeconds: 1',
    `    targets: [${targets.map((t) => JSON.stringify(t.target)).join(', ')}]`,
    '',
  ].join('\n');
  const startRows = await server.countSamples();
  await apply(server, [team, svc]);
  // Warm-up: two full scrapes of every target written (the first creates the series).
  const perScrape = SCRAPE_TARGETS * (SCRAPE_SERIES + 3);
  const warm = performance.now();
  await until('the first scrapes to be written', async () => (await server.countSamples()) - startRows >= 2 * perScrape, 120_000);
  const warmS = (performance.now() - warm) / 1000;
  const servedBefore = targets.reduce((n, t) => n + t.served, 0);
  const rowsBefore = await server.countSamples();
  const cpuBefore = cpuSeconds(server.child.pid);
  const begin = performance.now();
  await new Promise((r) => setTimeout(r, DURATION_MS));
  const seconds = (performance.now() - begin) / 1000;
  const cpu = cpuSeconds(server.child.pid) - cpuBefore;
  const written = (await server.countSamples()) - rowsBefore;
  const served = targets.reduce((n, t) => n + t.served, 0) - servedBefore;
  // Scrapes that overran the 1 s timeout write up=0 (and staleness markers): how many succeeded.
  const upQuery = `avg(avg_over_time(up{service="bench-scraped"}[${Math.round(seconds)}s]))`;
  const up = (await (await server.request(`/api/v1/query?${new URLSearchParams({ query: upQuery })}`)).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  return {
    store: server.store,
    path: 'scrape (Service.spec.scrape)',
    case: `${SCRAPE_TARGETS} targets × ${SCRAPE_SERIES} series @ 1 s`,
    n: served,
    samples_per_s: Math.round(written / seconds),
    vs_target: round(written / seconds / TARGET_PER_S, 2),
    server_cpu_us_per_sample: round((cpu * 1e6) / written, 2),
    first_round_per_s: Math.round((2 * perScrape) / warmS),
    offered_per_s: Math.round(perScrape),
    scrapes_per_target_per_s: round(served / SCRAPE_TARGETS / seconds, 2),
    up_ratio: round(Number(up.data.result[0]?.value[1] ?? Number.NaN), 2),
  };
}

async function measureOpsdeck(store: Store, dataDir: string, targets: ExpositionEndpoint[]): Promise<Row[]> {
  const server = await startOpsdeck(store, dataDir);
  const series = seriesSet(SERIES, METRICS);
  const rounds = new Rounds();
  try {
    const rows: Row[] = [];
    if (CASES.has('push1k')) rows.push(await push(server, rounds, series, { encoding: 'text', batch: 1000 }));
    if (CASES.has('push10k')) rows.push(await push(server, rounds, series, { encoding: 'text', batch: 10_000 }));
    if (CASES.has('otlp')) rows.push(await push(server, rounds, series, { encoding: 'otlp', batch: 10_000 }));
    if (CASES.has('scrape')) rows.push(await scrape(server, targets));
    return rows;
  } finally {
    await server.stop();
  }
}

async function measurePrometheus(workDir: string, targets: ExpositionEndpoint[]): Promise<Row> {
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: bench-scraped',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t.target)).join(', ')}]`,
    '',
  ].join('\n');
  const prom = await startPrometheus(workDir, config);
  try {
    const perScrape = SCRAPE_TARGETS * SCRAPE_SERIES;
    const metric = 'prometheus_tsdb_head_samples_appended_total';
    const warm = performance.now();
    await until('Prometheus to append two scrapes', async () => (await prom.selfMetric(metric)) >= 2 * perScrape, 60_000);
    const warmS = (performance.now() - warm) / 1000;
    const servedBefore = targets.reduce((n, t) => n + t.served, 0);
    const before = await prom.selfMetric(metric);
    const cpuBefore = cpuSeconds(prom.child.pid);
    const begin = performance.now();
    await new Promise((r) => setTimeout(r, DURATION_MS));
    const appended = (await prom.selfMetric(metric)) - before;
    const seconds = (performance.now() - begin) / 1000;
    const cpu = cpuSeconds(prom.child.pid) - cpuBefore;
    const served = targets.reduce((n, t) => n + t.served, 0) - servedBefore;
    return {
      store: 'prometheus 2.42 (peer)',
      path: 'scrape',
      case: `${SCRAPE_TARGETS} targets × ${SCRAPE_SERIES} series @ 1 s`,
      n: served,
      samples_per_s: Math.round(appended / seconds),
      vs_target: round(appended / seconds / TARGET_PER_S, 2),
      server_cpu_us_per_sample: round((cpu * 1e6) / appended, 2),
      first_round_per_s: Math.round((2 * perScrape) / warmS),
      offered_per_s: Math.round(SCRAPE_TARGETS * (SCRAPE_SERIES + 5)),
      scrapes_per_target_per_s: round(served / SCRAPE_TARGETS / seconds, 2),
      up_ratio: round(Number(await promUpRatio(prom.url, seconds)), 2),
    };
  } finally {
    await prom.stop();
  }
}

async function promUpRatio(url: string, seconds: number): Promise<string> {
  const query = `avg(avg_over_time(up[${Math.round(seconds)}s]))`;
  const body = (await (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`)).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  return body.data.result[0]?.value[1] ?? 'NaN';
}

/** Ceilings without HTTP: the parsers alone, and the push path's parse + MetricStore.writeBatch in this process. */
async function inProcess(): Promise<Row[]> {
  const series = seriesSet(SERIES, METRICS, 'bench_inproc');
  const t0 = Date.now() - HISTORY_MS;
  const bodies = Array.from({ length: 4 }, (_, r) => exposition(series, r + 1, t0 + r * 1000));
  const rows: Row[] = [];
  // The push route's parser (series looked up by raw text in a warm cache) and the one that builds
  // a Sample object per line (tests, tools).
  const cache = new BoundedSeriesCache<ParsedSeries & SeriesHandle>((p) => ({ ...p, ref: undefined }));
  const parsers = [
    { name: 'parseExpositionBatch (push path, warm cache)', parse: (b: string) => parseExpositionBatch(b, cache).length },
    { name: 'parseExposition (a Sample object per line)', parse: (b: string) => parseExposition(b).samples.length },
  ];
  for (const { name, parse } of parsers) {
    for (let i = 0; i < 3; i++) parse(bodies[i % 4]!);
    let n = 0;
    const begin = performance.now();
    while (performance.now() - begin < Math.min(3000, DURATION_MS)) n += parse(bodies[n % 4]!);
    const perS = n / ((performance.now() - begin) / 1000);
    rows.push({
      store: '-',
      path: 'in-process parse only (ceiling)',
      case: `${name}, ${SERIES} samples/body`,
      samples_per_s: Math.round(perS),
      vs_target: round(perS / TARGET_PER_S, 2),
    });
  }
  for (const store of STORES) {
    const database = await openTestDatabase(store, [{ module: 'telemetry', migrations: telemetryMigrations }]);
    try {
      const metricStore = createMetricStore({
        database,
        now: () => Date.now(),
        maxSeriesPerMetric: 10_000,
        retentionMs: 15 * 86_400_000,
        rollupRetentionMs: 90 * 86_400_000,
      });
      let r = 0;
      const storeCache = new BoundedSeriesCache<ParsedSeries & SeriesHandle>((p) => ({ ...p, ref: undefined }));
      const writeRound = async () => {
        const text = exposition(series, r + 1, t0 + r * 1000);
        r++;
        return (await metricStore.writeBatch(parseExpositionBatch(text, storeCache))).accepted;
      };
      await writeRound();
      await writeRound();
      let written = 0;
      const start = performance.now();
      while (performance.now() - start < Math.min(4000, DURATION_MS)) written += await writeRound();
      const perS = written / ((performance.now() - start) / 1000);
      rows.push({
        store,
        path: 'in-process parse + MetricStore.writeBatch',
        case: `${SERIES} samples/write, sequential`,
        samples_per_s: Math.round(perS),
        vs_target: round(perS / TARGET_PER_S, 2),
      });
    } finally {
      await database.destroy();
    }
  }
  return rows;
}

/** The benchmark as `npm run bench -- ingest` runs it. */
export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg();
  const workDir = mkdtempSync(join(tmpdir(), 'opsdeck-bench-ingest-'));
  const targets = await startTargets();
  try {
    const rows: Row[] = CASES.has('inprocess') ? await inProcess() : [];
    const peer = CASES.has('prometheus') ? await measurePrometheus(workDir, targets) : undefined;
    for (const store of STORES) rows.push(...(await measureOpsdeck(store, join(workDir, 'opsdeck'), targets)));
    if (peer) rows.push(peer);
    const promCpu = Number(peer?.server_cpu_us_per_sample);
    const promRate = Number(peer?.samples_per_s);
    for (const r of rows) {
      if (r.server_cpu_us_per_sample === undefined || r === peer || !peer) continue;
      r.cpu_vs_prometheus = round(Number(r.server_cpu_us_per_sample) / promCpu, 1);
      if (String(r.path).startsWith('scrape')) r.rate_vs_prometheus = round(Number(r.samples_per_s) / promRate, 2);
    }
    return {
      name: 'ingest',
      rows,
      notes: [
        loadNote(loadBefore),
        `${DURATION_MS / 1000} s window per case after warm-up (first round creates the series: first_round_per_s); server in its own process (node bin/opsdeck server), load generator and exposition targets in this one; 2 shared cores.`,
        `push: ${SERIES} series (${METRICS} metrics × 50 instances × 10 routes; 6 labels), timestamps advancing 1 s per round; p50/p99 are per push request with ${PUSHERS} pushers in flight.`,
        `samples_per_s = rows added to telemetry_samples / window; server_cpu_us_per_sample = server process CPU (user+sys) / samples written; cpu_vs_prometheus compares it with Prometheus scraping the same targets.`,
        `scrape: Prometheus and opsdeck scrape the same ${SCRAPE_TARGETS} node:http targets in turn (not at once); offered_per_s is what a 1 s interval asks for; Prometheus rate is prometheus_tsdb_head_samples_appended_total.`,
        `Target: >= ${TARGET_PER_S} samples/s on SQLite (vs_target = samples_per_s / ${TARGET_PER_S}).`,
      ],
    };
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    rmSync(workDir, { recursive: true, force: true });
  }
}
