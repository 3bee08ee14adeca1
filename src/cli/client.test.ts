import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, describeError, formatIssue, isLocalServer, resolveConnection } from './client.js';

describe('formatIssue', () => {
  it('locates an issue by file:line:column, else by document, else by pointer alone', () => {
    expect(formatIssue({ file: 'deploy/feed.yaml', line: 3, column: 5, pointer: '/spec/tier', message: 'must be <= 5' })).toBe(
      'deploy/feed.yaml:3:5 /spec/tier: must be <= 5',
    );
    expect(formatIssue({ file: 'a.yaml', document: 2, pointer: '/metadata/name', message: 'is required' })).toBe(
      'a.yaml document 2 /metadata/name: is required',
    );
    expect(formatIssue({ document: 1, pointer: '/kind', message: 'unknown kind' })).toBe('document 1 /kind: unknown kind');
    expect(formatIssue({ pointer: '', message: 'nothing to apply' })).toBe('nothing to apply');
  });
});

describe('describeError', () => {
  const body = (message: string, details?: unknown) => ({ error: { code: 'x', message, details } });

  it('gives plain messages for 401 and 403', () => {
    expect(describeError(401, body('the bearer token is unknown or revoked')).message).toBe(
      'the token was not accepted (set --token or OPSDECK_TOKEN)',
    );
    expect(describeError(403, body("this needs the deployer role or higher; token 'ci' has viewer")).message).toBe(
      "your token's role (viewer) may not do this: needs deployer or higher",
    );
    expect(describeError(403, body('admins only')).message).toBe("your token's role may not do this: admins only");
  });

  it('lists every validation issue on its own line', () => {
    const err = describeError(
      400,
      body('2 problems', {
        issues: [
          { file: 'a.yaml', line: 1, column: 1, pointer: '/kind', message: 'unknown kind' },
          { file: 'b.yaml', document: 2, pointer: '/spec', message: 'is required' },
        ],
      }),
    );
    expect(err.message).toBe('a.yaml:1:1 /kind: unknown kind\nb.yaml document 2 /spec: is required');
    expect(err.exitCode).toBe(1);
  });

  it("passes other messages through, and says when it was the server's fault", () => {
    expect(describeError(404, body("Service 'feed' does not exist")).message).toBe("Service 'feed' does not exist");
    expect(describeError(500, body('internal error')).message).toBe('server error (HTTP 500): internal error');
    expect(describeError(502, undefined).message).toBe('server error (HTTP 502): the server answered HTTP 502');
  });
});

describe('resolveConnection', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'opsdeck-cli-conn-'));
    mkdirSync(join(dir, '.opsdeck'));
    writeFileSync(join(dir, '.opsdeck', 'admin-token'), 'from-file\n');
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'admin-token'), 'other-file\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers the flag, then OPSDECK_TOKEN, then the local data dir', () => {
    expect(resolveConnection({ token: 'flag' }, { OPSDECK_TOKEN: 'env' }, dir)).toEqual({ server: 'http://localhost:7070', token: 'flag' });
    expect(resolveConnection({}, { OPSDECK_TOKEN: 'env' }, dir).token).toBe('env');
    expect(resolveConnection({}, {}, dir).token).toBe('from-file');
    expect(resolveConnection({ dataDir: 'other' }, {}, dir).token).toBe('other-file');
    expect(resolveConnection({}, { OPSDECK_DATA_DIR: join(dir, 'other') }, '/').token).toBe('other-file');
  });

  it('never sends a local file token to a remote server', () => {
    expect(resolveConnection({ server: 'https://ops.example.com/' }, {}, dir)).toEqual({ server: 'https://ops.example.com' });
    expect(resolveConnection({}, { OPSDECK_URL: 'http://127.0.0.1:9000' }, dir).token).toBe('from-file');
  });

  it('refuses a server that is not an http(s) URL, as a usage error', () => {
    expect(() => resolveConnection({ server: 'localhost:7070' }, {}, dir)).toThrow(/must be an http\(s\) URL/);
    try {
      resolveConnection({ server: 'nope' }, {}, dir);
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('knows which hosts are local', () => {
    expect(['http://localhost:1', 'http://127.0.0.1', 'http://[::1]:7070'].map(isLocalServer)).toEqual([true, true, true]);
    expect(isLocalServer('http://10.0.0.1')).toBe(false);
  });
});

describe('ApiClient over real HTTP', () => {
  let server: Server;
  let url: string;
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        if (req.url?.startsWith('/api/v1/missing')) {
          res.statusCode = 404;
          res.end(JSON.stringify({ error: { code: 'not_found', message: "Team 'x' does not exist" } }));
          return;
        }
        res.end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the bearer token, query and JSON body', async () => {
    const client = new ApiClient({ server: url, token: 'tok' });
    await expect(client.get('/api/v1/audit', { actor: 'ci', since: 5, label: ['a=b', 'c=d'], limit: undefined })).resolves.toEqual({
      ok: true,
    });
    await client.post('/api/v1/tokens', { name: 'ci' });
    expect(seen.at(-2)).toEqual({
      method: 'GET',
      url: '/api/v1/audit?actor=ci&since=5&label=a%3Db&label=c%3Dd',
      auth: 'Bearer tok',
      body: '',
    });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/api/v1/tokens', body: '{"name":"ci"}' });
  });

  it("turns an error response into the server's message", async () => {
    await expect(new ApiClient({ server: url }).get('/api/v1/missing')).rejects.toThrow("Team 'x' does not exist");
  });

  it('says plainly when nothing is listening', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(new ApiClient({ server: `http://127.0.0.1:${port}` }).get('/healthz')).rejects.toThrow(
      `cannot reach opsdeck at http://127.0.0.1:${port} (is the server running?)`,
    );
  });
});
