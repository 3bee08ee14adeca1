/**
 * A realistic series set for the telemetry benchmarks and the exposition endpoints that serve it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchSeries {
  metric: string;
  labels: Record<string, string>;
  /** `metric{a="1",...} `: a text-format line up to its value. */
  prefix: string;
}

/**
 * `count` series over `metrics` metric names: 50 instances × routes × method, with a version
 * (3 values) that follows the instance, as a fleet of one service looks.
 */
export function seriesSet(count: number, metrics = 20, metricPrefix = 'bench_requests'): BenchSeries[] {
  const out: BenchSeries[] = [];
  for (let i = 0; i < count; i++) {
    const m = i % metrics;
    const j = Math.floor(i / metrics);
    const instance = j % 50;
    const route = Math.floor(j / 50);
    const labels = {
      job: 'bench',
      instance: `10.0.${Math.floor(instance / 10)}.${instance % 10}:9100`,
      version: `v${instance % 3}`,
      route: `/api/r${route}`,
      method: route % 2 ? 'POST' : 'GET',
      code: '200',
    };
    const metric = `${metricPrefix}_${m}_total`;
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    out.push({ metric, labels, prefix: `${metric}{${text}} ` });
  }
  return out;
}

/** Text-format lines for these series at one instant; `t` (ms) is written when given. */
export function exposition(series: BenchSeries[], step: number, t?: number): string {
  const parts: string[] = new Array(series.length + 1);
  const suffix = t === undefined ? '\n' : ` ${t}\n`;
  for (let i = 0; i < series.length; i++) parts[i] = `${series[i]!.prefix}${step * ((i % 7) + 1)}${suffix}`;
  parts[series.length] = '';
  return parts.join('');
}

export interface ExpositionEndpoint {
  /** `host:port` as a scrape target. */
  target: string;
  /** Scrapes served so far. */
  served: number;
  close(): Promise<void>;
}

/**
 * A node:http `/metrics` endpoint serving `series`; values advance once a second (counters keep
 * increasing), and the body is rebuilt then, not per scrape, so serving stays cheap.
 */
export async function startExposition(series: BenchSeries[]): Promise<ExpositionEndpoint> {
  let step = 1;
  let body = Buffer.from(exposition(series, step));
  const timer = setInterval(() => {
    step++;
    body = Buffer.from(exposition(series, step));
  }, 1000);
  const endpoint = { target: '', served: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    endpoint.served++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  endpoint.close = async () => {
    clearInterval(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return endpoint;
}
