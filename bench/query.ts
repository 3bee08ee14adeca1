/**
 * PromQL query latency through the HTTP API, the built-in store on SQLite and PostgreSQL side by
 * side with real Prometheus answering the same query over the same data:
 *   1,000 series of a counter × 1 h at 15 s (240,000 samples), labels job/instance/version/route;
 *   `sum by (version) (rate(http_requests_total[1m]))` as an instant query and as range queries over
 *   the hour at step 15 s, 30 s and 60 s.
 * opsdeck gets the data by push (`POST /api/v1/metrics` with timestamps); Prometheus by backfill
 * (`promtool tsdb create-blocks-from openmetrics`), as test/e2e/promql-vs-prometheus.test.ts does.
 * Requests are sequential and round-robin across the three servers, so load and noise fall on all
 * of them alike; latency is measured by the client (HTTP + JSON included for every server).
 *
 *   npm run bench -- query        (BENCH_QUERY_CASE_S=10 seconds per case)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from './harness.js';
import {
  cpuSeconds,
  latencyStats,
  loadNote,
  type Opsdeck,
  PROMTOOL,
  type Prometheus,
  round,
  STORES,
  startOpsdeck,
  startPrometheus,
} from './telemetry/processes.js';

const SERIES = 1000;
const INTERVAL_MS = 15_000;
const POINTS = 240; // 1 h at 15 s
const CASE_MS = Number(process.env.BENCH_QUERY_CASE_S ?? 10) * 1000;
const MAX_ROUNDS = 300;
/** p99 over fewer than this many requests is just the maximum. */
const MIN_ROUNDS = 20;
const QUERY = 'sum by (version) (rate(http_requests_total[1m]))';
// Data ends 30 minutes ago so nothing of it overlaps Prometheus' (empty) head block.
const END = Math.floor((Date.now() - 30 * 60_000) / INTERVAL_MS) * INTERVAL_MS;
const START = END - (POINTS - 1) * INTERVAL_MS;

type Row = Record<string, string | number>;
type QueryData = {
  resultType: string;
  result: Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }>;
};

interface Series {
  labels: Record<string, string>;
  samples: Array<[number, number]>;
}

/** 100 instances × 10 routes; 5 versions by instance; counters with a per-series rate and one reset. */
function dataset(): Series[] {
  const out: Series[] = [];
  for (let i = 0; i < SERIES; i++) {
    const instance = i % 100;
    const labels = {
      job: 'api',
      instance: `10.1.${Math.floor(instance / 10)}.${instance % 10}:8080`,
      version: `v${instance % 5}`,
      route: `/r${Math.floor(i / 100)}`,
    };
    const perStep = 1 + (i % 13);
    let c = i * 7;
    const samples: Array<[number, number]> = [];
    for (let k = 0; k < POINTS; k++) {
      c = k === 120 + (i % 50) ? i % 3 : c + perStep + ((k * 31 + i) % 5);
      samples.push([START + k * INTERVAL_MS, c]);
    }
    out.push({ labels, samples });
  }
  return out;
}

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');

/** Prometheus text with ms timestamps, in pushes of ~10k samples. */
async function pushDataset(server: Opsdeck, data: Series[]): Promise<void> {
  const perBody = Math.ceil(10_000 / POINTS);
  for (let i = 0; i < data.length; i += perBody) {
    const lines: string[] = [];
    for (const s of data.slice(i, i + perBody)) {
      const prefix = `http_requests_total{${labelText(s.labels)}} `;
      for (const [t, v] of s.samples) lines.push(`${prefix}${v} ${t}`);
    }
    const res = await server.request('/api/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `${lines.join('\n')}\n`,
    });
    if (!res.ok) throw new Error(`push to ${server.store} failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { accepted: number };
    if (body.accepted !== lines.length) throw new Error(`push to ${server.store}: ${body.accepted} of ${lines.length} accepted`);
  }
}

/** Backfills the same data into a TSDB directory and starts Prometheus on it. */
async function prometheusWith(workDir: string, data: Series[]): Promise<Prometheus> {
  const lines = ['# TYPE http_requests_total gauge'];
  for (const s of data) {
    const prefix = `http_requests_total{${labelText(s.labels)}} `;
    for (const [t, v] of s.samples) lines.push(`${prefix}${v} ${(t / 1000).toFixed(3)}`);
  }
  lines.push('# EOF');
  const file = join(workDir, 'data.om');
  writeFileSync(file, `${lines.join('\n')}\n`);
  execFileSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', file, join(workDir, 'tsdb')], { stdio: 'pipe' });
  return startPrometheus(workDir, 'global:\n  scrape_interval: 1m\n');
}

interface Target {
  name: string;
  pid: number | undefined;
  get(path: string, params: Record<string, string>): Promise<QueryData>;
}

function target(name: string, base: string, pid: number | undefined, request: (path: string) => Promise<Response>): Target {
  return {
    name,
    pid,
    async get(path, params) {
      const res = await request(`${path}?${new URLSearchParams(params)}`);
      const body = (await res.json()) as { status: string; data: QueryData; error?: string };
      if (!res.ok || body.status !== 'success') throw new Error(`${name} ${base}${path}: ${res.status} ${body.error ?? ''}`);
      return body.data;
    },
  };
}

/** Same label sets and values within 1e-9 relative; the first difference otherwise. */
function agreement(want: QueryData, got: QueryData): string {
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  const points = (d: QueryData) => new Map(d.result.map((s) => [key(s.metric), s.values ?? [s.value!]]));
  const w = points(want);
  const g = points(got);
  if (w.size !== g.size) return `${g.size} series vs ${w.size}`;
  for (const [k, wp] of w) {
    const gp = g.get(k);
    if (!gp) return `missing ${k}`;
    if (gp.length !== wp.length) return `${k}: ${gp.length} points vs ${wp.length}`;
    for (let i = 0; i < wp.length; i++) {
      const [a, b] = [Number(gp[i]![1]), Number(wp[i]![1])];
      if (gp[i]![0] !== wp[i]![0] || Math.abs(a - b) > 1e-9 * Math.max(Math.abs(a), Math.abs(b))) return `${k} @${wp[i]![0]}: ${a} vs ${b}`;
    }
  }
  return 'yes';
}

async function measureCase(targets: Target[], label: string, path: string, params: Record<string, string>): Promise<Row[]> {
  const peer = targets.find((t) => t.name.startsWith('prometheus'))!;
  const first = new Map<Target, QueryData>();
  for (const t of targets) {
    first.set(t, await t.get(path, params));
    await t.get(path, params);
  }
  const latencies = new Map<Target, number[]>(targets.map((t) => [t, []]));
  const cpuBefore = new Map(targets.map((t) => [t, cpuSeconds(t.pid)]));
  const begin = performance.now();
  for (let r = 0; r < MAX_ROUNDS && (r < MIN_ROUNDS || performance.now() - begin < CASE_MS); r++) {
    // Rotate who goes first each round so no server always follows another.
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r + k) % targets.length]!;
      const sent = performance.now();
      await t.get(path, params);
      latencies.get(t)!.push(performance.now() - sent);
    }
  }
  const stats = new Map(targets.map((t) => [t, latencyStats(latencies.get(t)!)]));
  const peerStats = stats.get(peer)!;
  return targets.map((t) => {
    const s = stats.get(t)!;
    const cpu = cpuSeconds(t.pid) - cpuBefore.get(t)!;
    const points = first.get(t)!.result.reduce((n, x) => n + (x.values?.length ?? 1), 0);
    return {
      case: label,
      server: t.name,
      ...s,
      server_cpu_ms_per_query: round((cpu * 1000) / s.n, 1),
      p50_vs_prometheus: t === peer ? 1 : round(s.p50_ms / peerStats.p50_ms, 1),
      p99_vs_prometheus: t === peer ? 1 : round(s.p99_ms / peerStats.p99_ms, 1),
      points_returned: points,
      agrees_with_prometheus: t === peer ? '-' : agreement(first.get(peer)!, first.get(t)!),
    };
  });
}

/** The benchmark as `npm run bench -- query` runs it. */
export async function run(): Promise<BenchResult> {
  const loadBefore = loadavg();
  const workDir = mkdtempSync(join(tmpdir(), 'opsdeck-bench-query-'));
  const servers: Opsdeck[] = [];
  let prometheus: Prometheus | undefined;
  try {
    const data = dataset();
    for (const store of STORES) servers.push(await startOpsdeck(store, join(workDir, 'opsdeck')));
    const loadStart = performance.now();
    await Promise.all(servers.map((s) => pushDataset(s, data)));
    const loadS = (performance.now() - loadStart) / 1000;
    prometheus = await prometheusWith(workDir, data);
    const prom = prometheus;
    const targets: Target[] = [
      ...servers.map((s) => target(`opsdeck ${s.store}`, s.url, s.child.pid, (p) => s.request(p))),
      target('prometheus 2.42 (peer)', prom.url, prom.child.pid, (p) => fetch(`${prom.url}${p}`)),
    ];
    const secs = (ms: number) => (ms / 1000).toFixed(3);
    const rows: Row[] = [];
    rows.push(...(await measureCase(targets, 'instant', '/api/v1/query', { query: QUERY, time: secs(END) })));
    for (const step of [15, 30, 60]) {
      rows.push(
        ...(await measureCase(targets, `range 1h step ${step}s`, '/api/v1/query_range', {
          query: QUERY,
          start: secs(END - 3_600_000),
          end: secs(END),
          step: String(step),
        })),
      );
    }
    return {
      name: 'query',
      rows,
      notes: [
        loadNote(loadBefore),
        `query: ${QUERY}; ${SERIES} series × ${POINTS} samples (1 h at 15 s) = ${SERIES * POINTS} samples; loaded into ${servers.length} opsdeck stores by push in ${loadS.toFixed(1)} s (concurrently), into Prometheus by promtool backfill.`,
        `sequential requests, round-robin across servers, ${CASE_MS / 1000} s per case (at least ${MIN_ROUNDS}, at most ${MAX_ROUNDS} rounds) after 2 warm-up requests each; latency = client-side request time (HTTP + JSON); server_cpu_ms_per_query = server process CPU over the case / n.`,
        "agrees_with_prometheus compares the first answer with Prometheus' (label sets, timestamps, values within 1e-9 relative).",
        'Each opsdeck server is its own process (node bin/opsdeck server); all servers and the client share this machine.',
      ],
    };
  } finally {
    await prometheus?.stop();
    for (const s of servers) await s.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
