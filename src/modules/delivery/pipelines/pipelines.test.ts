import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import type { DomainEvent } from '../../../core/events/events.js';
import { DIALECTS } from '../../../testing/databases.js';
import type { TestServer } from '../../../testing/server.js';
import {
  apply,
  canary,
  createToken,
  doc,
  driveJobs,
  json,
  ScriptedAgent,
  serviceDoc,
  startDeliveryServer,
  TEAM,
  until,
} from './delivery.test-support.js';
import type { RunView } from './engine.js';

interface Rollout {
  id: string;
  phase: string;
  version: string;
  pipelineRunId: string | null;
  commitTime: number | null;
}

type ErrorBody = { error: { code: string; message: string; details?: { issues?: { pointer: string; message: string }[] } } };

const NODE = process.execPath;
const run = (script: string, timeoutSeconds = 60) => ({ command: NODE, args: ['-e', script], timeoutSeconds });

describe.each(DIALECTS)('pipelines on %s', (dialect) => {
  let server: TestServer;
  const clock = new FakeClock('2026-07-06T09:00:00Z');
  let agent: ScriptedAgent;
  const artifact = mkdtempSync(join(tmpdir(), 'opsdeck-artifact-'));
  let port = 19100 + (dialect === 'sqlite' ? 0 : 50);
  let viewer: string;
  let deployer: string;

  /** A service with a runtime section, a release 1.1.0 built into `artifact`, and this pipeline. */
  async function service(name: string, stages: unknown[], strategy = canary()): Promise<void> {
    await apply(
      server,
      doc('Pipeline', name, { stages }),
      serviceDoc(name, {
        runtime: { kind: 'process', command: 'node', args: ['server.js'], port: port++ },
        delivery: { pipeline: name, strategy },
      }),
    );
    const res = await server.request(`/api/v1/services/${name}/releases`, { method: 'POST', json: { version: '1.1.0', artifact } });
    expect(res.status).toBe(201);
  }

  const start = (name: string, body: Record<string, unknown> = { version: '1.1.0' }, token?: string) =>
    json<RunView & ErrorBody>(server.request(`/api/v1/services/${name}/pipeline-runs`, { method: 'POST', json: body, token }));
  const get = async (id: string) => (await json<RunView>(server.request(`/api/v1/pipeline-runs/${id}`))).body;
  const logs = async (id: string, stage?: string) =>
    (
      await json<{ items: { stage: string; stream: string; line: string }[] }>(
        server.request(`/api/v1/pipeline-runs/${id}/logs${stage ? `?stage=${stage}` : ''}`),
      )
    ).body.items;
  const finished = (id: string, service?: string) =>
    until(server, `run ${id} to finish`, async () => ((await get(id)).state !== 'running' ? get(id) : undefined), { agent, service });
  const rollout = async (service: string) => (await json<Rollout>(server.request(`/api/v1/services/${service}/rollout`))).body;
  const events = async (service: string) =>
    (await json<{ items: DomainEvent[] }>(server.request(`/api/v1/events?types=delivery.pipeline.*&service=${service}&limit=1000`))).body
      .items;

  beforeAll(async () => {
    server = await startDeliveryServer({ dialect, clock });
    agent = await ScriptedAgent.create(server, clock);
    viewer = await createToken(server, 'reader', 'viewer');
    deployer = await createToken(server, 'dev', 'deployer');
    await apply(server, TEAM);
  });
  afterAll(async () => {
    await server?.destroy();
    rmSync(artifact, { recursive: true, force: true });
  });

  it('refuses Pipelines that do not make sense, naming the field', async () => {
    const bad = doc('Pipeline', 'bad', {
      stages: [
        { name: 'prod', production: {} },
        { name: 'test', run: run('0'), approval: { timeoutSeconds: 60 } },
        { name: 'test', staging: { port: 1, smoke: [] } },
        { name: 'empty' },
      ],
    });
    const res = await json<ErrorBody>(server.request('/api/v1/resources/apply', { method: 'POST', json: { documents: [bad] } }));
    expect(res.status).toBe(400);
    expect(res.body.error.details!.issues!.map((i) => `${i.pointer}: ${i.message}`)).toEqual([
      '/spec/stages/0: production must be the last stage',
      '/spec/stages/1: a stage is one of run, staging, approval, production, not run and approval',
      "/spec/stages/2/name: duplicate stage name 'test' (also stage 1)",
      '/spec/stages/3: a stage needs one of run, staging, approval, production',
    ]);
  });

  it('runs commands in the artifact directory, captures their output per stage, and reaches production', async () => {
    await service('shop', [
      {
        name: 'test',
        run: { ...run("require('fs').appendFileSync('ran.txt', 'x'); console.log('12 tests passed'); console.error('a warning')") },
      },
      { name: 'build', run: { ...run('console.log(process.env.OPSDECK_VERSION, process.env.GREETING)'), env: { GREETING: 'hello' } } },
      { name: 'production', production: {} },
    ]);
    const created = await start('shop', { version: '1.1.0', commitTime: '2026-07-06T08:00:00Z' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      service: 'shop',
      pipeline: 'shop',
      version: '1.1.0',
      state: 'running',
      stage: 'test',
      createdBy: 'admin',
    });
    const id = created.body.id;
    expect(id).toMatch(/^pip_/);

    const waiting = await until(server, 'production to wait', async () => {
      const r = await get(id);
      return r.stages[2]!.state === 'waiting' ? r : undefined;
    });
    expect(waiting.stages.map((s) => [s.name, s.state])).toEqual([
      ['test', 'succeeded'],
      ['build', 'succeeded'],
      ['production', 'waiting'],
    ]);
    // The real rollout engine, on behalf of whoever started the run, with its commit time.
    const started = await rollout('shop');
    expect(started).toMatchObject({ version: '1.1.0', pipelineRunId: id, commitTime: Date.parse('2026-07-06T08:00:00Z') });
    expect(waiting.stages[2]!.rolloutId).toBe(started.id);
    expect(readFileSync(join(artifact, 'ran.txt'), 'utf8')).toBe('x');

    const done = await finished(id, 'shop');
    expect(done).toMatchObject({ state: 'succeeded', reason: null });
    expect((await rollout('shop')).phase).toBe('Succeeded');
    expect(done.stages.map((s) => [s.state, s.exitCode, s.reason])).toEqual([
      ['succeeded', 0, null],
      ['succeeded', 0, null],
      ['succeeded', null, `rollout ${started.id} succeeded`],
    ]);

    // DORA counts it, with the lead time from the commit.
    const dora = (
      await json<{ overall: { deploymentFrequency: { deployments: number }; leadTime: { medianMs: number } } }>(
        server.request('/api/v1/dora?service=shop'),
      )
    ).body;
    expect(dora.overall.deploymentFrequency.deployments).toBe(1);
    expect(dora.overall.leadTime.medianMs).toBe(clock.now() - Date.parse('2026-07-06T08:00:00Z'));

    const test = await logs(id, 'test');
    expect(test.filter((l) => l.stream !== 'system').map((l) => [l.stream, l.line])).toEqual([
      ['stdout', '12 tests passed'],
      ['stderr', 'a warning'],
    ]);
    expect(test.some((l) => l.stream === 'system' && l.line.startsWith(`$ ${NODE} -e`))).toBe(true);
    expect((await logs(id, 'build')).filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['1.1.0 hello']);
    expect((await logs(id)).map((l) => l.stage)).toContain('production');

    const types = (await events('shop')).filter((e) => e.subject === id).map((e) => e.type);
    expect(types).toEqual([
      'delivery.pipeline.started',
      'delivery.pipeline.stage.started',
      'delivery.pipeline.stage.succeeded',
      'delivery.pipeline.stage.started',
      'delivery.pipeline.stage.succeeded',
      'delivery.pipeline.stage.started',
      'delivery.pipeline.stage.succeeded',
      'delivery.pipeline.succeeded',
    ]);
    const list = (await json<{ items: RunView[] }>(server.request('/api/v1/services/shop/pipeline-runs', { token: viewer }))).body.items;
    expect(list.map((r) => r.id)).toEqual([id]);
    expect((await server.core.audit.list({ action: 'delivery.pipeline.start' }))[0]).toMatchObject({ target: 'shop@1.1.0' });
  });

  it('a failing test stage stops the run before production', async () => {
    await service('cart', [
      { name: 'test', run: run("console.log('1 test failed'); process.exit(3)") },
      { name: 'production', production: {} },
    ]);
    const { body } = await start('cart');
    const done = await finished(body.id);
    expect(done).toMatchObject({ state: 'failed', reason: "stage 'test' failed: exited with code 3" });
    expect(done.stages.map((s) => [s.name, s.state, s.exitCode])).toEqual([
      ['test', 'failed', 3],
      ['production', 'skipped', null],
    ]);
    expect((await server.request('/api/v1/services/cart/rollout')).status).toBe(404);
    // The failed run no longer blocks the next one.
    expect((await start('cart')).status).toBe(201);
    await until(server, 'second run to end', async () =>
      (await json<{ items: RunView[] }>(server.request('/api/v1/services/cart/pipeline-runs'))).body.items.every(
        (r) => r.state !== 'running',
      ),
    );
  });

  it('a command that cannot start fails its stage with the reason', async () => {
    await service('ghost', [{ name: 'test', run: { command: '/nonexistent/tool', timeoutSeconds: 5 } }]);
    const done = await finished((await start('ghost')).body.id);
    expect(done.reason).toMatch(/^stage 'test' failed: could not start '\/nonexistent\/tool': .*ENOENT/);
  });

  it('times a command out on the clock and kills its process group', async () => {
    await service('slow', [
      {
        name: 'test',
        run: run(
          "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' }); console.log('started'); setTimeout(() => {}, 600000)",
          30,
        ),
      },
    ]);
    const driver = driveJobs(server);
    try {
      const id = (await start('slow')).body.id;
      await vi.waitFor(async () => expect((await logs(id, 'test')).some((l) => l.line === 'started')).toBe(true), {
        timeout: 15_000,
        interval: 50,
      });
      const pid = (await server.core.db.selectFrom('pipeline_stages').select('pid').where('run_id', '=', id).executeTakeFirstOrThrow())
        .pid!;
      clock.advance(30_000);
      const done = await vi.waitFor(
        async () => {
          const r = await get(id);
          if (r.state === 'running') throw new Error('still running');
          return r;
        },
        { timeout: 15_000, interval: 50 },
      );
      expect(done.reason).toBe("stage 'test' failed: timed out after 30s; its process group was killed");
      // Neither the command nor what it started is left (the whole group got the signal).
      await vi.waitFor(() => expect(() => process.kill(-pid, 0)).toThrow(), { timeout: 10_000, interval: 50 });
    } finally {
      await driver.stop();
    }
  });

  it('cancel kills a running command at once', async () => {
    await service('cancelme', [
      { name: 'test', run: run("console.log('working'); setTimeout(() => {}, 600000)") },
      { name: 'production', production: {} },
    ]);
    const driver = driveJobs(server);
    try {
      const id = (await start('cancelme')).body.id;
      await vi.waitFor(async () => expect((await logs(id, 'test')).some((l) => l.line === 'working')).toBe(true), {
        timeout: 15_000,
        interval: 50,
      });
      const cancelled = await json<RunView>(
        server.request(`/api/v1/pipeline-runs/${id}/cancel`, { method: 'POST', json: { reason: 'wrong branch' } }),
      );
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: 'cancelled by admin: wrong branch' });
      expect(cancelled.body.stages.map((s) => s.state)).toEqual(['cancelled', 'skipped']);
      const pid = (await server.core.db.selectFrom('pipeline_stages').select('pid').where('run_id', '=', id).executeTakeFirstOrThrow())
        .pid!;
      await vi.waitFor(() => expect(() => process.kill(-pid, 0)).toThrow(), { timeout: 10_000, interval: 50 });
      const again = await json<ErrorBody>(server.request(`/api/v1/pipeline-runs/${id}/cancel`, { method: 'POST', json: {} }));
      expect(again.status).toBe(409);
      expect(again.body.error.message).toBe(`pipeline run ${id} has already been cancelled`);
    } finally {
      await driver.stop();
    }
  });

  it('an approval stage waits for someone with its role, or fails at its timeout', async () => {
    await service('gate', [
      { name: 'approve', approval: { timeoutSeconds: 3600 } },
      { name: 'test', run: run("console.log('after approval')") },
    ]);
    const id = (await start('gate')).body.id;
    await until(server, 'approval to wait', async () => (await get(id)).stages[0]!.state === 'waiting');
    const early = await json<ErrorBody>(server.request(`/api/v1/pipeline-runs/${id}/approve`, { method: 'POST', token: viewer }));
    expect(early.status).toBe(403);
    expect(early.body.error.message).toBe("approving stage 'approve' needs the deployer role or higher; token 'reader' has viewer");
    clock.advance(1800_000);
    await server.core.jobs.runDue();
    const approved = await json<RunView>(server.request(`/api/v1/pipeline-runs/${id}/approve`, { method: 'POST', token: deployer }));
    expect(approved.status).toBe(200);
    expect(approved.body.stages[0]).toMatchObject({ state: 'succeeded', approvedBy: 'dev', reason: 'approved by dev' });
    expect(await finished(id)).toMatchObject({ state: 'succeeded' });
    const notWaiting = await json<ErrorBody>(server.request(`/api/v1/pipeline-runs/${id}/approve`, { method: 'POST' }));
    expect(notWaiting.status).toBe(409);
    expect((await server.core.audit.list({ action: 'delivery.pipeline.approve' }))[0]).toMatchObject({ actor: 'token:dev' });

    const second = (await start('gate')).body.id;
    await until(server, 'approval to wait', async () => (await get(second)).stages[0]!.state === 'waiting');
    clock.advance(3600_000);
    const timedOut = await finished(second);
    expect(timedOut).toMatchObject({ state: 'failed', reason: "stage 'approve' failed: not approved within 3600s" });
    expect(timedOut.stages[1]!.state).toBe('skipped');
  });

  it('the production stage fails with its rollout (aborted), or when the rollout is refused (frozen) unless overridden', async () => {
    await service('risky', [{ name: 'production', production: {} }], canary(true));
    const id = (await start('risky')).body.id;
    await until(server, 'the canary to pause', async () => (await rollout('risky')).phase === 'Paused', { agent, service: 'risky' });
    const aborted = await server.request('/api/v1/services/risky/rollout/abort', {
      method: 'POST',
      json: { reason: 'error ratio 6.1% vs 0.9% on stable' },
    });
    expect(aborted.status).toBe(200);
    const rolloutId = (await rollout('risky')).id;
    const failed = await finished(id, 'risky');
    expect(failed.reason).toMatch(
      new RegExp(`^stage 'production' failed: rollout ${rolloutId} aborted: .*error ratio 6\\.1% vs 0\\.9% on stable`),
    );

    const freeze = await json<{ name: string }>(
      server.request('/api/v1/freezes', { method: 'POST', json: { service: 'risky', reason: 'SEV2 INC-7' } }),
    );
    const refusedStart = await start('risky');
    const refused = await finished(refusedStart.body.id, 'risky');
    expect(refused.reason).toBe(
      `stage 'production' failed: the rollout was refused: Service 'risky' is frozen by ${freeze.body.name} (SEV2 INC-7); a deployer may override with --override-freeze --reason`,
    );

    const overridden = (await start('risky', { version: '1.1.0', overrideFreeze: { reason: 'hotfix for INC-7' } })).body.id;
    await until(server, 'the overriding rollout', async () => (await get(overridden)).stages[0]!.state === 'waiting', {
      agent,
      service: 'risky',
    });
    expect((await rollout('risky')).pipelineRunId).toBe(overridden);
    expect((await server.core.audit.list({ action: 'delivery.freeze.override' }))[0]?.details).toMatchObject({
      reason: 'hotfix for INC-7',
    });
    // Promoting is refused while frozen (the override covered the start); lift it, then promote.
    expect((await server.request(`/api/v1/freezes/${freeze.body.name}`, { method: 'DELETE' })).status).toBe(200);
    await until(server, 'the canary to pause', async () => (await rollout('risky')).phase === 'Paused', { agent, service: 'risky' });
    expect((await server.request('/api/v1/services/risky/rollout/promote', { method: 'POST', json: {} })).status).toBe(200);
    expect(await finished(overridden, 'risky')).toMatchObject({ state: 'succeeded' });
  });

  it('gives a version without a release one from the service runtime spec, as deploy does', async () => {
    await service('fresh', [{ name: 'approve', approval: { timeoutSeconds: 600 } }]);
    const created = await start('fresh', { version: '2.0.0' });
    expect(created.status).toBe(201);
    const releases = (await json<{ items: { version: string; createdBy: string }[] }>(server.request('/api/v1/services/fresh/releases')))
      .body.items;
    expect(releases.find((r) => r.version === '2.0.0')).toMatchObject({ createdBy: 'admin' });
    await server.request(`/api/v1/pipeline-runs/${created.body.id}/cancel`, { method: 'POST', json: {} });
  });

  it('answers bad requests with what exists: unknown service or pipeline, no runtime; one run at a time', async () => {
    await service('busy', [{ name: 'approve', approval: { timeoutSeconds: 600 } }]);
    const unknown = await start('nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/^Service 'nope' does not exist; known services: /);
    const pipeline = await start('busy', { version: '1.1.0', pipeline: 'missing' });
    expect(pipeline.status).toBe(404);
    expect(pipeline.body.error.message).toMatch(/^Pipeline 'missing' does not exist; known pipelines: .*busy/);
    await apply(server, serviceDoc('plain'));
    const none = await start('plain', { version: '1.0.0' });
    expect(none.status).toBe(409);
    expect(none.body.error.message).toMatch(/^Service 'plain' names no pipeline/);
    expect((await start('busy', { version: '1.1.0', commitTime: 'yesterday' })).status).toBe(400);
    expect((await start('busy', { version: '1.1.0' }, viewer)).status).toBe(403);
    const plainRelease = await start('plain', { version: '1.0.0', pipeline: 'busy' });
    expect(plainRelease.status).toBe(409);
    expect(plainRelease.body.error.message).toMatch(/no runtime section/);

    const first = await start('busy');
    expect(first.status).toBe(201);
    const second = await start('busy');
    expect(second.status).toBe(409);
    expect(second.body.error.message).toBe(
      `pipeline run ${first.body.id} of 'busy' (version 1.1.0) is still running at stage 'approve'; cancel it first`,
    );
    expect((await server.request('/api/v1/pipeline-runs/pip_nope')).status).toBe(404);
    const badStage = await json<ErrorBody>(server.request(`/api/v1/pipeline-runs/${first.body.id}/logs?stage=deploy`));
    expect(badStage.body.error.message).toBe(`run ${first.body.id} has no stage 'deploy'; its stages: approve`);
    await server.request(`/api/v1/pipeline-runs/${first.body.id}/cancel`, { method: 'POST', json: {} });
    expect(existsSync(artifact)).toBe(true);
  });
});
