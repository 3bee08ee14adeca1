import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../src/testing/databases.js';
import { startTestServer, type TestServer } from '../../src/testing/server.js';
import { readSseUntil } from '../../src/testing/sse.js';

const service = (name: string, owner = 'core-team', extra = '') => `apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: ${name} }
spec:
  owner: ${owner}
  tier: 2${extra}
`;
const team = `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: core-team }
spec:
  members: []
`;

describe.each(DIALECTS)('server over HTTP on %s', (dialect) => {
  let server: TestServer;
  let viewer: string;

  beforeAll(async () => {
    server = await startTestServer({ dialect });
    const res = await server.request('/api/v1/tokens', { method: 'POST', json: { name: 'reader', role: 'viewer' } });
    expect(res.status).toBe(201);
    viewer = ((await res.json()) as { token: string }).token;
  });
  afterAll(() => server?.destroy());

  it('serves liveness, readiness and metrics without a token', async () => {
    expect((await server.request('/healthz', { token: '' })).status).toBe(200);
    const ready = await server.request('/readyz', { token: '' });
    expect(await ready.json()).toEqual({ status: 'ready' });
    await server.request('/api/v1/whoami');
    const metrics = await (await server.request('/metrics', { token: '' })).text();
    expect(metrics).toMatch(/opsdeck_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/whoami"/);
    expect(metrics).toContain('opsdeck_jobs_queue_depth');
  });

  it('writes the admin token file readable by the owner only', () => {
    expect(statSync(join(server.dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
  });

  it('publishes an OpenAPI document with operation ids and security', async () => {
    const doc = (await (await server.request('/api/v1/openapi.json', { token: '' })).json()) as {
      paths: Record<string, Record<string, { operationId: string; security: unknown[] }>>;
    };
    expect(doc.paths['/api/v1/resources/apply'].post.operationId).toBe('applyResources');
    expect(doc.paths['/api/v1/resources/apply'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('refuses missing and unknown tokens with 401 and too little role with 403', async () => {
    const none = await server.request('/api/v1/whoami', { token: '' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await server.request('/api/v1/whoami', { token: 'odk_nope' })).status).toBe(401);
    expect(await (await server.request('/api/v1/whoami', { token: viewer })).json()).toEqual({ name: 'reader', role: 'viewer' });
    const denied = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      token: viewer,
      json: { files: [{ name: 't', content: team }] },
    });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toMatch(/deployer/);
  });

  it('echoes request ids', async () => {
    const res = await server.request('/api/v1/whoami', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    expect((await server.request('/api/v1/whoami')).headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('rejects malformed and oversized bodies and bad fields with a uniform error', async () => {
    const malformed = await server.request('/api/v1/tokens', {
      method: 'POST',
      body: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'malformed_json' } });
    const big = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      json: { files: [{ name: 'x', content: 'x'.repeat(1_100_000) }] },
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const bad = await server.request('/api/v1/tokens', { method: 'POST', json: { name: 'x', role: 'root' } });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { details: { issues: { pointer: string }[] } } };
    expect(body.error.details.issues.map((i) => i.pointer)).toContain('/role');
    expect((await server.request('/api/v1/nowhere')).status).toBe(404);
  });

  it('applies atomically, audits, records the change and streams it live', async () => {
    const auditBefore = ((await (await server.request('/api/v1/audit?limit=1000')).json()) as { items: unknown[] }).items.length;
    // One bad document (unknown owner) fails the whole batch.
    const bad = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      json: { files: [{ name: 'a.yaml', content: `${team}---\n${service('feed')}---\n${service('ranker', 'nobody')}` }] },
    });
    expect(bad.status).toBe(400);
    const issues = ((await bad.json()) as { error: { details: { issues: { pointer: string; message: string }[] } } }).error.details.issues;
    expect(issues.some((i) => i.pointer === '/spec/owner' && /nobody/.test(i.message))).toBe(true);
    expect((await server.request('/api/v1/resources/Service/feed')).status).toBe(404);
    const auditAfterBad = ((await (await server.request('/api/v1/audit?limit=1000')).json()) as { items: unknown[] }).items.length;
    expect(auditAfterBad).toBe(auditBefore);

    const controller = new AbortController();
    const stream = await server.request('/api/v1/events/stream?topics=resources.*', { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);

    const ok = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      json: { files: [{ name: 'a.yaml', content: `${service('feed')}---\n${team}` }] },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { results: unknown[] }).results).toEqual([
      expect.objectContaining({ kind: 'Service', name: 'feed', action: 'created' }),
      expect.objectContaining({ kind: 'Team', name: 'core-team', action: 'created' }),
    ]);

    const text = await readSseUntil(stream, 'Service/feed', controller);
    expect(text).toMatch(/event: resources\.service\.applied/);

    const changes = (await (await server.request('/api/v1/changes?service=feed')).json()) as { items: { type: string; subject: string }[] };
    expect(changes.items[0]).toMatchObject({ type: 'resources.service.applied', subject: 'Service/feed' });
    const audit = (await (await server.request('/api/v1/audit?action=resources.apply')).json()) as {
      items: { target: string; actor: string }[];
    };
    expect(audit.items.map((a) => a.target)).toEqual(expect.arrayContaining(['Service/feed', 'Team/core-team']));
    expect(audit.items[0].actor).toBe('token:admin');
    expect(await (await server.request('/api/v1/audit/verify')).json()).toMatchObject({ ok: true });
  });
});
