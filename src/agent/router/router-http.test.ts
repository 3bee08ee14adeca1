import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointsOf, send, serviceSpec, startUpstream, testRouter, type Upstream } from './router-test-kit.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(upstream: Upstream) {
  const t = testRouter();
  cleanups.push(async () => {
    await t.router.close();
    await upstream.close();
  });
  t.router.setEndpoints('feed', endpointsOf([upstream]));
  await t.router.apply([serviceSpec('feed', [[upstream.version, 100]])]);
  return t.port('feed');
}

describe('router: HTTP/1.1 proxying', () => {
  it('forwards x-forwarded-* and strips hop-by-hop request headers', async () => {
    const upstream = await startUpstream('feed-1-1', '1');
    const port = await setup(upstream);
    await send(port, {
      headers: { connection: 'keep-alive, x-hop', 'x-hop': 'secret', te: 'trailers', 'x-forwarded-for': '203.0.113.7', 'x-keep': 'yes' },
    });
    const [seen] = upstream.received;
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-keep']).toBe('yes');
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers.host).toBe(`127.0.0.1:${port}`);
  });

  it('streams a chunked request body and a chunked response', async () => {
    const upstream = await startUpstream('feed-1-1', '1', (_req, res, body) => {
      res.writeHead(201, { 'content-type': 'text/plain', 'x-app': 'feed' });
      res.write('got:');
      setImmediate(() => res.end(body));
    });
    const port = await setup(upstream);
    const reply = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/upload' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('error', reject);
      req.write('part1-');
      setTimeout(() => req.end('part2'), 20);
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toBe('got:part1-part2');
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(reply.headers['x-app']).toBe('feed');
    expect(reply.headers['x-opsdeck-instance']).toBe('feed-1-1');
    expect(upstream.received[0].headers['transfer-encoding']).toBe('chunked');
  });

  it('serves many requests over one client keep-alive connection, HEAD and 204 included', async () => {
    const upstream = await startUpstream('feed-1-1', '1', (req, res) => {
      if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
      }
    });
    const port = await setup(upstream);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    for (let i = 0; i < 10; i++) {
      expect((await send(port, { agent })).body).toBe('hello');
      const head = await send(port, { agent, method: 'HEAD' });
      expect([head.status, head.body, head.headers['content-length']]).toEqual([200, '', '5']);
      expect((await send(port, { agent, path: '/empty' })).status).toBe(204);
    }
    expect(sockets.size).toBe(1);
    agent.destroy();
  });
});
