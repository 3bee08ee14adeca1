import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentReport, DesiredState } from '../../../agent/protocol.js';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { freePort } from '../../../testing/fleet.js';
import type { TestServer } from '../../../testing/server.js';
import { apply, createToken, doc, json, serviceDoc, startDeliveryServer, TEAM, until } from './delivery.test-support.js';
import type { RunView } from './engine.js';

// The staging stage against the real runtime control plane. No agent runs here: readiness is what
// an agent would report (POST /api/v1/agent/report), and the staging port is served by a small
// node:http server standing where the agent's router would listen.

describe.each(DIALECTS)('the staging stage on %s', (dialect) => {
  let server: TestServer;
  let target: Server;
  let agentToken: string;
  let stagingPort: number;
  const clock = new FakeClock('2026-07-06T09:00:00Z');
  const artifact = mkdtempSync(join(tmpdir(), 'opsdeck-artifact-'));
  let reportSeq = 0;

  beforeAll(async () => {
    server = await startDeliveryServer({ dialect, clock });
    agentToken = await createToken(server, 'agent-1', 'agent');
    stagingPort = await freePort();
    target = createServer((req, res) => {
      if (req.url === '/broken') res.writeHead(500).end('boom');
      else if (req.url === '/healthz') res.writeHead(200).end('ok');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from staging');
    });
    await new Promise<void>((r) => target.listen(stagingPort, '127.0.0.1', r));
    await apply(
      server,
      TEAM,
      doc('Pipeline', 'web', { stages: [{ name: 'staging', staging: { port: stagingPort, smoke: [] } }] }),
      serviceDoc('web', {
        runtime: {
          kind: 'process',
          command: 'node',
          args: ['server.js'],
          cwd: 'examples/feed-app',
          env: { A: '1' },
          port: await freePort(),
        },
        delivery: { pipeline: 'web' },
      }),
    );
  });
  afterAll(async () => {
    await new Promise((r) => target?.close(r));
    await server?.destroy();
    rmSync(artifact, { recursive: true, force: true });
  });

  const pipeline = (smoke: unknown[], extra: Record<string, unknown> = {}) =>
    apply(
      server,
      doc('Pipeline', 'web', { stages: [{ name: 'staging', staging: { port: stagingPort, smoke, readyTimeoutSeconds: 30, ...extra } }] }),
    );
  const release = async (version: string, set: Record<string, string> = {}) => {
    const res = await server.request('/api/v1/services/web/releases', { method: 'POST', json: { version, artifact, set } });
    expect(res.status).toBe(201);
  };
  const start = async (version: string) => {
    const res = await json<RunView>(server.request('/api/v1/services/web/pipeline-runs', { method: 'POST', json: { version } }));
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const get = async (id: string) => (await json<RunView>(server.request(`/api/v1/pipeline-runs/${id}`))).body;
  const phase = (id: string, want: string) => until(server, `phase ${want}`, async () => (await get(id)).stages[0]!.phase === want);
  const finished = (id: string) =>
    until(server, `run ${id} to finish`, async () => ((await get(id)).state !== 'running' ? get(id) : undefined));
  const desired = async () => (await json<DesiredState>(server.request('/api/v1/agent/desired-state', { token: agentToken }))).body;
  const ready = async (version: string) => {
    const report: AgentReport = {
      agentId: 'agent-1',
      agentUrl: 'http://127.0.0.1:1',
      appliedRevision: 0,
      at: clock.now(),
      instances: [],
      versions: [{ service: 'web-staging', version, health: 'healthy', ready: 1, desired: 1 }],
      events: [{ id: `e${++reportSeq}`, type: 'instance.ready', at: clock.now(), service: 'web-staging', version }],
      traffic: [],
      actionsDone: [],
    };
    const res = await server.request('/api/v1/agent/report', { method: 'POST', json: report, token: agentToken });
    expect(res.status).toBe(200);
  };
  const logLines = async (id: string) =>
    (await json<{ items: { line: string }[] }>(server.request(`/api/v1/pipeline-runs/${id}/logs?stage=staging`))).body.items.map(
      (l) => l.line,
    );

  it('deploys the release to <service>-staging on its port, waits for it, checks it, load-tests it, and scales it away', async () => {
    await pipeline([{ path: '/healthz' }, { path: '/', expectBody: 'hello' }], {
      loadTest: { connections: 2, durationSeconds: 1, maxErrorRatio: 0.01, maxP99Ms: 5000 },
    });
    await release('1.1.0', { 'env.B': '2' });
    const id = await start('1.1.0');
    await phase(id, 'ready');

    const staging = (
      await json<{ metadata: { labels: Record<string, string> }; spec: { owner: string; runtime: Record<string, unknown> } }>(
        server.request('/api/v1/resources/Service/web-staging'),
      )
    ).body;
    expect(staging.metadata.labels).toEqual({ 'opsdeck.dev/staging-of': 'web' });
    expect(staging.spec.owner).toBe('core');
    expect(staging.spec.runtime).toMatchObject({
      command: 'node',
      args: ['server.js'],
      cwd: artifact,
      env: { A: '1', B: '2' },
      port: stagingPort,
      instances: 0,
    });
    const web = (await desired()).services.find((s) => s.name === 'web-staging')!;
    expect(web.port).toBe(stagingPort);
    expect(web.versions).toEqual([expect.objectContaining({ version: '1.1.0', weight: 100, instances: 1 })]);
    expect(web.versions[0]!.process).toMatchObject({ cwd: artifact, env: { A: '1', B: '2' } });
    const applied = await server.core.audit.list({ target: 'Service/web-staging' });
    expect(applied.map((a) => a.actor)).toEqual(['system']);

    await ready('1.1.0');
    clock.advance(2000);
    const done = await finished(id);
    expect(done).toMatchObject({ state: 'succeeded' });
    const details = done.stages[0]!.details as {
      outcome: string;
      smoke: { path: string; ok: boolean }[];
      load: { ok: boolean; requests: number; errorRatio: number };
    };
    expect(details.outcome).toBe('passed');
    expect(details.smoke.map((s) => [s.path, s.ok])).toEqual([
      ['/healthz', true],
      ['/', true],
    ]);
    expect(details.load).toMatchObject({ ok: true, errorRatio: 0 });
    expect(details.load.requests).toBeGreaterThan(0);
    const lines = await logLines(id);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^smoke ok: GET \/healthz → 200 in \d+ ms$/),
        expect.stringMatching(/^load test passed: \d+ requests, error ratio 0\.0000/),
      ]),
    );
    // Scaled to zero: the staging copy is out of the desired state until the next run.
    const after = (await json<{ spec: Record<string, unknown> }>(server.request('/api/v1/resources/Service/web-staging'))).body;
    expect(after.spec.runtime).toBeUndefined();
    await server.core.events.dispatch();
    expect((await desired()).services.some((s) => s.name === 'web-staging')).toBe(false);
  });

  it('a failing smoke check fails the stage, names the check, and still takes staging down', async () => {
    await pipeline([{ path: '/healthz' }, { path: '/broken' }]);
    await release('1.2.0');
    const id = await start('1.2.0');
    await phase(id, 'ready');
    // The existing staging service got the new version with all traffic; the old one runs nothing.
    const web = (await desired()).services.find((s) => s.name === 'web-staging')!;
    expect(web.versions.map((v) => [v.version, v.weight, v.instances])).toEqual([['1.2.0', 100, 1]]);
    await ready('1.2.0');
    clock.advance(2000);
    const done = await finished(id);
    expect(done.reason).toBe("stage 'staging' failed: GET /broken answered 500, expected 200");
    expect((await logLines(id)).some((l) => l.startsWith('smoke FAILED: GET /broken → 500'))).toBe(true);
    const after = (await json<{ spec: Record<string, unknown> }>(server.request('/api/v1/resources/Service/web-staging'))).body;
    expect(after.spec.runtime).toBeUndefined();
  });

  it('a staging copy that never becomes ready fails the stage at the readiness timeout', async () => {
    await pipeline([{ path: '/healthz' }]);
    await release('1.3.0');
    const id = await start('1.3.0');
    await phase(id, 'ready');
    clock.advance(31_000);
    const done = await finished(id);
    expect(done.reason).toMatch(/^stage 'staging' failed: not ready within 30s: 0\/1 ready, health /);
  });
  it('cancelling a run during staging takes the staging copy down', async () => {
    await pipeline([{ path: '/healthz' }]);
    await release('1.4.0');
    const id = await start('1.4.0');
    await phase(id, 'ready');
    expect((await desired()).services.some((s) => s.name === 'web-staging')).toBe(true);
    const res = await server.request(`/api/v1/pipeline-runs/${id}/cancel`, { method: 'POST', json: { reason: 'superseded' } });
    expect(res.status).toBe(200);
    await until(server, 'the staging copy to go', async () => {
      const spec = (await json<{ spec: Record<string, unknown> }>(server.request('/api/v1/resources/Service/web-staging'))).body.spec;
      return spec.runtime === undefined;
    });
    expect((await get(id)).stages[0]).toMatchObject({ state: 'cancelled', reason: 'cancelled by admin: superseded' });
  });
});
