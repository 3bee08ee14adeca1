import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import type { TestServer } from '../../../testing/server.js';
import { INTERRUPTED } from './context.js';
import {
  apply,
  canary,
  closeServer,
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
import { insertRun } from './pipelines.store.js';

// Runs survive a restart of the control plane: a command cut short is failed (never started
// twice), stages that wait (approval, production) carry on, and a runner that died without a
// clean shutdown is noticed by its missing heartbeat.

describe.each(DIALECTS)('pipeline runs across a restart on %s', (dialect) => {
  const artifact = mkdtempSync(join(tmpdir(), 'opsdeck-artifact-'));
  const servers: TestServer[] = [];
  afterEach(async () => {
    // The last server owns the store; the earlier ones are already closed.
    await servers.at(-1)?.destroy();
    servers.length = 0;
  });

  async function first(clock: FakeClock, stages: unknown[]): Promise<TestServer> {
    const server = await startDeliveryServer({ dialect, clock });
    servers.push(server);
    await apply(
      server,
      TEAM,
      doc('Pipeline', 'app', { stages }),
      serviceDoc('app', {
        runtime: { kind: 'process', command: 'node', port: 19301 },
        delivery: { pipeline: 'app', strategy: canary(true) },
      }),
    );
    expect((await server.request('/api/v1/services/app/releases', { method: 'POST', json: { version: '2.0.0', artifact } })).status).toBe(
      201,
    );
    return server;
  }
  async function again(previous: TestServer, clock: FakeClock): Promise<TestServer> {
    const server = await startDeliveryServer({ dialect, clock, store: previous.store });
    servers.push(server);
    return server;
  }
  const start = async (server: TestServer) =>
    (await json<RunView>(server.request('/api/v1/services/app/pipeline-runs', { method: 'POST', json: { version: '2.0.0' } }))).body.id;
  const get = async (server: TestServer, id: string) => (await json<RunView>(server.request(`/api/v1/pipeline-runs/${id}`))).body;

  it('marks a command the restart cut short as failed and does not run it again', async () => {
    const clock = new FakeClock('2026-07-06T09:00:00Z');
    const script = "require('fs').appendFileSync('starts.txt', 'started\\n'); console.log('building'); setTimeout(() => {}, 600000)";
    const server1 = await first(clock, [
      { name: 'build', run: { command: process.execPath, args: ['-e', script], timeoutSeconds: 3600 } },
      { name: 'production', production: {} },
    ]);
    const driver = driveJobs(server1);
    const id = await start(server1);
    await vi.waitFor(
      async () => {
        const lines = (await json<{ items: { line: string }[] }>(server1.request(`/api/v1/pipeline-runs/${id}/logs?stage=build`))).body
          .items;
        expect(lines.some((l) => l.line === 'building')).toBe(true);
      },
      { timeout: 15_000, interval: 50 },
    );
    const pid = (await server1.core.db.selectFrom('pipeline_stages').select('pid').where('run_id', '=', id).executeTakeFirstOrThrow()).pid!;
    const stopping = driver.stop();
    await closeServer(server1, clock);
    await stopping;
    // The shutdown took the command's process group with it.
    await vi.waitFor(() => expect(() => process.kill(-pid, 0)).toThrow(), { timeout: 10_000, interval: 50 });

    const server2 = await again(server1, clock);
    const done = await until(server2, 'the interrupted run to end', async () => {
      const r = await get(server2, id);
      return r.state !== 'running' ? r : undefined;
    });
    expect(done.reason).toBe(`stage 'build' failed: ${INTERRUPTED}`);
    expect(done.stages.map((s) => [s.name, s.state, s.reason])).toEqual([
      ['build', 'failed', INTERRUPTED],
      ['production', 'skipped', null],
    ]);
    expect(readFileSync(join(artifact, 'starts.txt'), 'utf8')).toBe('started\n');
    expect((await server2.request('/api/v1/services/app/rollout')).status).toBe(404);
    rmSync(join(artifact, 'starts.txt'));
  });

  it('resumes waiting stages: an approval given after a restart, a rollout promoted after another', async () => {
    const clock = new FakeClock('2026-07-06T09:00:00Z');
    const server1 = await first(clock, [
      { name: 'approve', approval: { timeoutSeconds: 3600 } },
      { name: 'production', production: {} },
    ]);
    const agentToken = await createToken(server1, 'agent-1', 'agent');
    const id = await start(server1);
    await until(server1, 'approval to wait', async () => (await get(server1, id)).stages[0]!.state === 'waiting');
    await closeServer(server1, clock);

    const server2 = await again(server1, clock);
    const agent2 = new ScriptedAgent(server2, clock, agentToken);
    expect((await server2.request(`/api/v1/pipeline-runs/${id}/approve`, { method: 'POST' })).status).toBe(200);
    const rollout = async (server: TestServer) =>
      (await json<{ id: string; phase: string; pipelineRunId: string }>(server.request('/api/v1/services/app/rollout'))).body;
    await until(server2, 'the canary to pause', async () => (await rollout(server2)).phase === 'Paused', { agent: agent2, service: 'app' });
    expect((await rollout(server2)).pipelineRunId).toBe(id);
    expect((await get(server2, id)).stages[1]!.state).toBe('waiting');
    await closeServer(server2, clock);

    const server3 = await again(server2, clock);
    const agent3 = new ScriptedAgent(server3, clock, agentToken);
    expect((await server3.request('/api/v1/services/app/rollout/promote', { method: 'POST', json: {} })).status).toBe(200);
    const done = await until(
      server3,
      'the run to succeed',
      async () => {
        const r = await get(server3, id);
        return r.state === 'succeeded' ? r : undefined;
      },
      { agent: agent3, service: 'app' },
    );
    expect(done.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded']);
  });

  it('fails a command whose runner stopped beating (killed without a shutdown)', async () => {
    const clock = new FakeClock('2026-07-06T09:00:00Z');
    const server = await first(clock, [{ name: 'build', run: { command: 'true', timeoutSeconds: 60 } }]);
    const now = clock.now();
    // What a replica that died mid-command leaves behind: a running stage, started, silent for two minutes.
    await insertRun(
      server.core.db,
      {
        id: 'pip_dead',
        service: 'app',
        pipeline: 'app',
        version: '2.0.0',
        commit_time: null,
        state: 'running',
        current: 0,
        reason: null,
        actor: JSON.stringify({ kind: 'token', name: 'admin', role: 'admin' }),
        override_freeze: null,
        created_at: now - 180_000,
        finished_at: null,
      },
      [
        {
          run_id: 'pip_dead',
          idx: 0,
          name: 'build',
          type: 'run',
          spec: JSON.stringify({ name: 'build', run: { command: 'true', timeoutSeconds: 60 } }),
          state: 'running',
          phase: null,
          reason: null,
          started_at: now - 170_000,
          finished_at: null,
          command_started_at: now - 170_000,
          heartbeat_at: now - 120_000,
          pid: null,
          exit_code: null,
          deadline_at: null,
          rollout_id: null,
          approved_by: null,
          details: null,
        },
      ],
    );
    // The watchdog is a global task: it runs on the leader, armed when leadership is won.
    await until(server, 'leadership', async () => server.core.jobs.isLeader());
    // In steps, so the leader's lease renewals keep pace with the clock.
    for (let t = 0; t < 35_000; t += 5_000) {
      clock.advance(5_000);
      await server.core.jobs.runDue();
    }
    const done = await until(server, 'the watchdog', async () => {
      const r = await get(server, 'pip_dead');
      return r.state !== 'running' ? r : undefined;
    });
    expect(done).toMatchObject({ state: 'failed', reason: `stage 'build' failed: ${INTERRUPTED}` });
  });
});
