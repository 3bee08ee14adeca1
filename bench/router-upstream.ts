/**
 * A minimal upstream for bench/router.ts: a fixed small JSON body, keep-alive. Prints
 * `{"ready":<port>}` on stdout once listening.
 *
 *   node --import tsx bench/router-upstream.ts <version>
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const version = process.argv[2] ?? 'v1';
const body = Buffer.from(JSON.stringify({ ok: true, version }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

// Longer than the proxies' pooled-connection idle time, so the proxy side closes idle connections first.
const server = createServer({ keepAliveTimeout: 65_000 }, (_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ready: (server.address() as AddressInfo).port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
