import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { seededRandom } from '../../testing/random.js';
import type { AgentEvent, Endpoint } from '../contracts.js';
import type { DesiredService, RoutingSpec } from '../protocol.js';
import type { RouterClock } from './clock.js';
import { createRouter, type OpsdeckRouter } from './router.js';

/** Test helpers: real upstream servers, a keep-alive client, a router with recorded events. */

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface Upstream {
  id: string;
  version: string;
  endpoint: Endpoint;
  received: Received[];
  /** Replace to change behaviour mid-test. */
  handler: UpstreamHandler;
  close(): Promise<void>;
}

export const okHandler =
  (id: string, version: string): UpstreamHandler =>
  (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version, instance: id, method: req.method, body }));
  };

export async function startUpstream(id: string, version: string, handler?: UpstreamHandler): Promise<Upstream> {
  const upstream: Upstream = {
    id,
    version,
    endpoint: { id, host: '127.0.0.1', port: 0 },
    received: [],
    handler: handler ?? okHandler(id, version),
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      upstream.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      upstream.handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.endpoint.port = (server.address() as AddressInfo).port;
  upstream.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return upstream;
}

/** A port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function endpointsOf(upstreams: Upstream[]): Map<string, Endpoint[]> {
  const map = new Map<string, Endpoint[]>();
  for (const u of upstreams) map.set(u.version, [...(map.get(u.version) ?? []), u.endpoint]);
  return map;
}

export function serviceSpec(
  name: string,
  weights: Array<[version: string, weight: number]>,
  routing: Partial<RoutingSpec> = {},
  port = 0,
): DesiredService {
  return {
    name,
    port,
    healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, failureThreshold: 3 },
    shutdown: { signal: 'SIGTERM', gracePeriodMs: 1000 },
    routing: { timeoutMs: 5000, outlier: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 }, ...routing },
    versions: weights.map(([version, weight]) => ({
      version,
      weight,
      instances: 1,
      process: { command: 'node', args: [], cwd: '/', env: {} },
    })),
  };
}

export interface TestRouter {
  router: OpsdeckRouter;
  events: AgentEvent[];
  /** The bound port of a service's listener. */
  port(service: string): number;
}

export function testRouter(options: { clock?: RouterClock; random?: () => number } = {}): TestRouter {
  const events: AgentEvent[] = [];
  let seq = 0;
  const router = createRouter({
    logger: pino({ level: 'silent' }),
    emit: (e) => events.push({ ...e, id: `ev-${++seq}`, at: e.at ?? 0 }),
    ...options,
  });
  const port = (service: string) => {
    const l = router.listeners().find((x) => x.service === service);
    if (!l) throw new Error(`no listener for ${service}`);
    return l.port;
  };
  return { router, events, port };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

const clientAgent = new Agent({ keepAlive: true, maxSockets: 64 });

export function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {},
): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        agent: options.agent ?? clientAgent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Runs `count` requests with at most `concurrency` in flight. */
export async function sendMany(count: number, concurrency: number, one: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const replies: Reply[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      replies[i] = await one(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return replies;
}

/** Bounded polling for an outcome that arrives asynchronously. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Seeded PRNG so split tests are reproducible. */
export const seeded = seededRandom;

/** Binomial bounds: `count` of `n` trials at probability `p` lies within ±4 sigma. */
export function withinBinomial(count: number, n: number, p: number): boolean {
  const sigma = Math.sqrt(n * p * (1 - p));
  return Math.abs(count - n * p) <= 4 * sigma;
}

export function countBy<T>(items: T[], key: (item: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item) ?? 'undefined';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
