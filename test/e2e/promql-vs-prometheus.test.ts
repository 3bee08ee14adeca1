/**
 * The built-in PromQL engine against real Prometheus: the same deterministic data is backfilled
 * into Prometheus (promtool) and loaded into a MemorySeriesSource, and every query in the table is
 * run on both at identical timestamps. Label sets must be equal and values within 1e-9 relative
 * (or both NaN); where Prometheus answers with an error, so must we.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Labels, QueryData } from '../../src/modules/telemetry/contracts.js';
import { evaluateInstant, evaluateRange, MemorySeriesSource, parsePromql } from '../../src/modules/telemetry/promql/index.js';
import { buildDataset, INTERVAL_MS, toOpenMetrics } from '../fixtures/promql/dataset.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const POINTS = 480; // 2 h at 15 s

// Data ends 30 minutes ago so nothing of it overlaps Prometheus' (empty) head block.
const END = Math.floor((Date.now() - 30 * 60_000) / INTERVAL_MS) * INTERVAL_MS;
const START = END - (POINTS - 1) * INTERVAL_MS;

/** Evaluation times: off the sample grid, on it, inside the flaky series' gaps, after it stopped. */
const T = {
  offGrid: END - 10 * 60_000 + 7_500,
  onGrid: END,
  early: START + 6 * 60_000 + 3_250,
  inShortGap: START + 100 * INTERVAL_MS + 2 * 60_000,
  inLongGap: START + 200 * INTERVAL_MS + 7 * 60_000,
  afterStop: END - 37 * 60_000,
};

type Case = { query: string; times?: number[]; ordered?: boolean };
type RangeCase = { query: string; start: number; end: number; step: number };

const ALL_TIMES = [T.offGrid, T.onGrid, T.early];

const INSTANT: Case[] = [
  { query: 'http_requests_total' },
  { query: 'rate(http_requests_total[1m])' },
  { query: 'rate(http_requests_total[5m])' },
  { query: 'increase(http_requests_total[10m])' },
  { query: 'irate(http_requests_total[2m])' },
  { query: 'delta(temperature[5m])' },
  { query: 'idelta(temperature[3m])' },
  { query: 'sum by (version) (rate(http_requests_total[1m]))' },
  { query: 'avg without (instance) (cpu_usage)' },
  { query: 'max(cpu_usage)' },
  { query: 'min by (version) (temperature)' },
  { query: 'count by (version) (cpu_usage)' },
  { query: 'stddev(cpu_usage)' },
  { query: 'stdvar by (version) (temperature)' },
  { query: 'topk(2, cpu_usage)' },
  { query: 'bottomk(1, temperature) by (version)' },
  { query: 'quantile(0.9, cpu_usage)' },
  { query: 'quantile by (version) (0.25, temperature)' },
  { query: 'count_values("value", up)' },
  { query: 'count_values("v", round(cpu_usage * 10) / 10)' },
  { query: 'group by (version) (cpu_usage)' },
  { query: 'sum(up) by (job, version)' },
  { query: 'histogram_quantile(0.9, rate(req_duration_seconds_bucket[5m]))' },
  { query: 'histogram_quantile(0.5, sum by (le) (rate(req_duration_seconds_bucket[5m])))' },
  {
    query: 'histogram_quantile(0.99, req_duration_seconds_bucket)',
    times: [...ALL_TIMES, START + 7 * INTERVAL_MS, START + 47 * INTERVAL_MS],
  },
  { query: 'histogram_quantile(0.01, req_duration_seconds_bucket)' },
  { query: 'avg_over_time(cpu_usage[10m])' },
  { query: 'min_over_time(temperature[10m])' },
  { query: 'max_over_time(temperature[10m])' },
  { query: 'sum_over_time(cpu_usage[5m])' },
  { query: 'count_over_time(flaky_gauge[10m])', times: [T.offGrid, T.inShortGap, T.inLongGap, T.afterStop] },
  { query: 'last_over_time(cpu_usage[1m])' },
  { query: 'quantile_over_time(0.75, temperature[15m])' },
  { query: 'stddev_over_time(cpu_usage[10m])' },
  { query: 'stdvar_over_time(temperature[10m])' },
  { query: 'present_over_time(flaky_gauge[5m])', times: [T.offGrid, T.inShortGap, T.inLongGap, T.afterStop] },
  { query: 'flaky_gauge', times: [T.offGrid, T.inShortGap, T.inLongGap, T.afterStop, END - 35 * 60_000, END - 34 * 60_000] },
  { query: 'abs(temperature)' },
  { query: 'ceil(temperature) + floor(temperature)' },
  { query: 'round(temperature, 0.5)' },
  { query: 'round(temperature)' },
  { query: 'clamp(temperature, -1, 10)' },
  { query: 'clamp_min(temperature, 0)' },
  { query: 'clamp_max(temperature, 5)' },
  { query: 'exp(cpu_usage)' },
  { query: 'ln(temperature)' },
  { query: 'log2(cpu_usage) + log10(cpu_usage)' },
  { query: 'sqrt(temperature)' },
  { query: 'vector(1)' },
  { query: 'scalar(sum(up))' },
  { query: 'scalar(up)' },
  { query: 'time()' },
  { query: 'timestamp(cpu_usage)' },
  { query: 'timestamp(abs(cpu_usage))' },
  { query: 'sort(temperature)', ordered: true },
  { query: 'sort_desc(temperature)', ordered: true },
  { query: 'label_replace(up, "host", "host-$1", "instance", "i(\\\\d)")' },
  { query: 'label_replace(up, "instance", "", "instance", "i1")' },
  { query: 'label_join(up, "id", "/", "job", "instance", "version")' },
  { query: 'absent(nonexistent{job="x", env=~"p.*"})' },
  { query: 'absent(up)' },
  { query: 'cpu_usage * 100' },
  { query: '1 - cpu_usage' },
  { query: 'cpu_usage > 0.5' },
  { query: '0.5 < cpu_usage' },
  { query: 'cpu_usage > bool 0.5' },
  { query: '2 ^ cpu_usage' },
  { query: 'temperature % 3' },
  { query: 'cpu_usage > temperature' },
  { query: 'cpu_usage / ignoring(job) temperature' },
  { query: 'sum by (instance) (rate(http_requests_total[5m])) / on(instance) group_left(build) build_info' },
  { query: 'build_info * on(instance) group_right(job) cpu_usage' },
  { query: 'build_info * on(instance) group_right cpu_usage' },
  { query: 'cpu_usage == bool on(instance, version) group_left build_info' },
  { query: 'up == 1' },
  { query: 'up and cpu_usage > 0.3' },
  { query: 'cpu_usage or nan_gauge' },
  { query: 'up unless on(instance) cpu_usage > 0.8' },
  { query: 'cpu_usage + on(version) cpu_usage' },
  { query: '{__name__=~"cpu_usage|temperature"} * 1' },
  { query: 'cpu_usage + on(instance) temperature' },
  { query: '-cpu_usage' },
  { query: '-2 ^ 2' },
  { query: '2 ^ 3 ^ 2' },
  { query: '0x10 + 1 - 3 * 2 % 4' },
  { query: '1 / 0' },
  { query: '-1 / 0' },
  { query: '0 / 0' },
  { query: '1e-7 * 1' },
  { query: '2 > bool 1' },
  { query: 'cpu_usage offset 30m' },
  { query: 'rate(http_requests_total[5m] offset 10m)' },
  { query: `cpu_usage @ ${(T.early / 1000).toFixed(3)}` },
  { query: 'http_requests_total[2m]' },
  { query: 'nan_gauge' },
  { query: 'sum(nan_gauge)', times: [...ALL_TIMES, START + 3 * INTERVAL_MS, START + 13 * INTERVAL_MS] },
  { query: 'max(nan_gauge)', times: [START + 3 * INTERVAL_MS, START + 13 * INTERVAL_MS] },
  { query: 'avg_over_time(nan_gauge[2m])' },
  { query: 'nan_gauge > 2' },
  { query: '"hello"' },
  { query: 'sum(rate(http_requests_total[5m])) by (instance) > bool 0.5' },
  { query: 'rate(cpu_usage)' },
  { query: 'sum(1)' },
  { query: 'foo(cpu_usage)' },
  { query: 'timestamp(sort(cpu_usage))' },
  { query: 'timestamp(+cpu_usage)' },
  { query: 'timestamp((cpu_usage))' },
  { query: 'count_values("v", vector(1e-7))' },
  { query: 'vector(1e-7) + vector(2e21)' },
  { query: 'avg(nan_gauge)', times: [START + 3 * INTERVAL_MS, START + 13 * INTERVAL_MS] },
  { query: 'quantile(0.5, nan_gauge)', times: [START + 3 * INTERVAL_MS, START + 13 * INTERVAL_MS] },
  { query: 'topk(1, nan_gauge)', times: [START + 3 * INTERVAL_MS, START + 13 * INTERVAL_MS] },
  { query: 'label_replace(up, "x", "$1x", "instance", "(.*)")' },
  { query: 'absent(flaky_gauge{instance="i1"})', times: [T.offGrid, T.inLongGap] },
  { query: 'http_requests_total @ end()' },
  { query: 'count(http_requests_total[1m] @ start())' },
  { query: 'cpu_usage - cpu_usage offset 5m' },
  { query: '-cpu_usage offset 5m' },
  { query: 'cpu_usage / temperature @ end() offset 1m' },
];

const H = 3_600_000;
const RANGE: RangeCase[] = [
  { query: 'sum by (version) (rate(http_requests_total[1m]))', start: END - H, end: END, step: 60_000 },
  { query: 'rate(http_requests_total[5m])', start: START, end: END, step: 300_000 },
  { query: 'increase(http_requests_total[2m])', start: END - H + 7_000, end: END - 20 * 60_000, step: 15_000 },
  { query: 'flaky_gauge', start: START, end: END, step: 30_000 },
  {
    query: 'histogram_quantile(0.9, sum by (le, service) (rate(req_duration_seconds_bucket[5m])))',
    start: END - H,
    end: END,
    step: 120_000,
  },
  { query: 'avg_over_time(cpu_usage[10m])', start: END - H, end: END, step: 45_000 },
  { query: 'topk(2, cpu_usage)', start: END - 30 * 60_000, end: END, step: 60_000 },
  { query: 'count_values("v", up)', start: END - H, end: END, step: 60_000 },
  { query: 'time() - timestamp(cpu_usage)', start: END - 10 * 60_000 + 1, end: END, step: 10_000 },
  { query: 'scalar(sum(up))', start: END - H, end: END, step: 60_000 },
  { query: '1 + 1', start: END - 10 * 60_000, end: END, step: 60_000 },
  { query: 'up and on(instance) cpu_usage > 0.5 or temperature < 0', start: END - H, end: END, step: 60_000 },
  { query: 'cpu_usage @ end()', start: END - 10 * 60_000, end: END, step: 60_000 },
  { query: 'label_replace(rate(http_requests_total[1m]), "v", "$1", "version", "v(.*)")', start: END - H, end: END, step: 60_000 },
  { query: 'absent(flaky_gauge)', start: START, end: END, step: 60_000 },
  { query: 'http_requests_total[5m]', start: END - H, end: END, step: 60_000 },
  { query: 'sum_over_time(cpu_usage[2m] @ start()) + cpu_usage offset 15m', start: END - H, end: END, step: 75_000 },
  { query: 'quantile_over_time(0.9, temperature[7m]) > bool 20', start: END - H, end: END, step: 60_000 },
  {
    query: 'sum by (version) (http_requests_total) / on(version) group_left count by (version) (up == 1)',
    start: END - H,
    end: END,
    step: 60_000,
  },
  { query: 'irate(http_requests_total[1m]) and delta(temperature[2m]) > 0', start: END - H, end: END, step: 37_000 },
];

let prometheus: ChildProcess | undefined;
let baseUrl = '';
let workDir = '';
const source = new MemorySeriesSource();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

type PromResponse = { status: 'success'; data: QueryData } | { status: 'error'; error: string };

async function promQuery(path: string, params: Record<string, string>): Promise<PromResponse> {
  const res = await fetch(`${baseUrl}${path}?${new URLSearchParams(params)}`);
  return (await res.json()) as PromResponse;
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

async function ours(run: () => Promise<QueryData>): Promise<PromResponse> {
  try {
    return { status: 'success', data: await run() };
  } catch (e) {
    return { status: 'error', error: (e as Error).message };
  }
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function sameNumber(a: string, b: string): boolean {
  const x = Number(a.replace('Inf', 'Infinity'));
  const y = Number(b.replace('Inf', 'Infinity'));
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (x === y) return true;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

/** Normalised form: series keyed by labels, numbers compared with tolerance separately. */
function compare(label: string, want: PromResponse, got: PromResponse, ordered = false): void {
  if (want.status === 'error') {
    expect(got.status, `${label}: Prometheus failed with "${want.error}" but we succeeded`).toBe('error');
    return;
  }
  if (got.status === 'error')
    throw new Error(`${label}: we failed with "${got.error}"; Prometheus returned ${JSON.stringify(want.data).slice(0, 300)}`);
  const w = want.data;
  const g = got.data;
  expect(g.resultType, label).toBe(w.resultType);
  if (w.resultType === 'scalar' || w.resultType === 'string') {
    const gr = g.result as [number, string];
    expect(gr[0], label).toBe(w.result[0]);
    if (w.resultType === 'string') expect(gr[1], label).toBe(w.result[1]);
    else expect(sameNumber(gr[1], w.result[1]), `${label}: ${gr[1]} vs ${w.result[1]}`).toBe(true);
    return;
  }
  const points = (d: QueryData) =>
    (d.result as Array<{ metric: Labels; value?: [number, string]; values?: Array<[number, string]> }>).map((s) => ({
      key: key(s.metric),
      points: s.values ?? [s.value!],
    }));
  const wp = points(w);
  const gp = points(g);
  if (ordered)
    expect(
      gp.map((s) => s.key),
      `${label}: order`,
    ).toEqual(wp.map((s) => s.key));
  const sortKeys = (l: typeof wp) => [...l].sort((a, b) => (a.key < b.key ? -1 : 1));
  const ws = sortKeys(wp);
  const gs = sortKeys(gp);
  expect(
    gs.map((s) => s.key),
    `${label}: label sets`,
  ).toEqual(ws.map((s) => s.key));
  ws.forEach((s, i) => {
    const o = gs[i]!;
    expect(
      o.points.map((p) => p[0]),
      `${label} ${s.key}: timestamps`,
    ).toEqual(s.points.map((p) => p[0]));
    s.points.forEach((p, j) => {
      expect(sameNumber(o.points[j]![1], p[1]), `${label} ${s.key} @${p[0]}: ours ${o.points[j]![1]} vs Prometheus ${p[1]}`).toBe(true);
    });
  });
}

describe('PromQL engine vs Prometheus', () => {
  beforeAll(async () => {
    for (const bin of [PROMETHEUS, PROMTOOL]) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: the PromQL comparison test needs it — run \`apt-get install prometheus\``);
    }
    const dataset = buildDataset(END, POINTS);
    for (const s of dataset) for (const [t, v] of s.samples) source.add(s.labels, t, v);
    workDir = mkdtempSync(join(tmpdir(), 'opsdeck-promql-'));
    writeFileSync(join(workDir, 'data.om'), toOpenMetrics(dataset));
    execFileSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', join(workDir, 'data.om'), join(workDir, 'tsdb')], {
      stdio: 'pipe',
    });
    writeFileSync(join(workDir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(workDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(workDir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=30d',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await fetch(`${baseUrl}/-/ready`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('Prometheus did not become ready within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The backfilled blocks must be queryable before comparing anything.
    const check = await promQuery('/api/v1/query', { query: 'count(up)', time: secs(END) });
    expect(check).toMatchObject({ status: 'success', data: { result: [{ value: [END / 1000, '4'] }] } });
  });

  afterAll(() => {
    prometheus?.kill('SIGKILL');
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('agrees on instant queries', async () => {
    expect(INSTANT.length).toBeGreaterThanOrEqual(30);
    for (const c of INSTANT) {
      for (const t of c.times ?? ALL_TIMES) {
        const want = await promQuery('/api/v1/query', { query: c.query, time: secs(t) });
        const got = await ours(() => evaluateInstant({ source, expr: parsePromql(c.query), time: t }));
        compare(`${c.query} @ ${secs(t)}`, want, got, c.ordered);
      }
    }
  });

  it('agrees on range queries', async () => {
    for (const c of RANGE) {
      const want = await promQuery('/api/v1/query_range', {
        query: c.query,
        start: secs(c.start),
        end: secs(c.end),
        step: String(c.step / 1000),
      });
      const got = await ours(() => evaluateRange({ source, expr: parsePromql(c.query), start: c.start, end: c.end, step: c.step }));
      compare(`range ${c.query}`, want, got);
    }
  });
});
