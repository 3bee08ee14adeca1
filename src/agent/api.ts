import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { LogQuery, Supervisor } from './contracts.js';

export interface AgentApi {
  url: string;
  close(): Promise<void>;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function logQuery(url: URL): LogQuery | string {
  const service = url.searchParams.get('service');
  if (!service) return 'query parameter service is required';
  const num = (name: string) => {
    const v = url.searchParams.get(name);
    return v === null ? undefined : Number(v);
  };
  return {
    service,
    version: url.searchParams.get('version') ?? undefined,
    instance: url.searchParams.get('instance') ?? undefined,
    since: num('since'),
    afterSeq: num('afterSeq'),
    limit: num('limit'),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The agent's own small HTTP API: health, Prometheus metrics (router RED metrics), and instance
 * logs for the control plane to proxy. Everything but /healthz needs the agent's token.
 */
export async function startAgentApi(options: {
  host: string;
  port: number;
  token: string;
  supervisor: Supervisor;
  metrics: Registry[];
}): Promise<AgentApi> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!auth || !sameSecret(auth[1], options.token))
      return send(res, 401, { error: { code: 'unauthorized', message: 'agent token required' } });
    if (url.pathname === '/metrics') {
      const texts = await Promise.all(options.metrics.map((m) => m.metrics()));
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return res.end(texts.join('\n'));
    }
    if (url.pathname === '/logs') {
      const query = logQuery(url);
      if (typeof query === 'string') return send(res, 400, { error: { code: 'bad_request', message: query } });
      if (url.searchParams.get('follow') !== 'true') return send(res, 200, { items: options.supervisor.logs(query) });
      // ndjson: history first, then live lines until the client hangs up.
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
      let last = 0;
      for (const line of options.supervisor.logs(query)) {
        res.write(`${JSON.stringify(line)}\n`);
        last = line.seq;
      }
      const stop = options.supervisor.followLogs({ ...query, afterSeq: last }, (line) => res.write(`${JSON.stringify(line)}\n`));
      const keepAlive = setInterval(() => res.write('\n'), 15_000);
      req.on('close', () => {
        stop();
        clearInterval(keepAlive);
      });
      return;
    }
    send(res, 404, { error: { code: 'not_found', message: `no route ${url.pathname}` } });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: { code: 'internal', message: err.message } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
