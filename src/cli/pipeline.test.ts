import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apply, doc, json, runCli, serviceDoc, startDeliveryServer, TEAM } from '../modules/delivery/pipelines/delivery.test-support.js';
import type { RunView } from '../modules/delivery/pipelines/index.js';
import type { TestServer } from '../testing/server.js';
import { commitTimeArg } from './pipeline.js';

const cli = runCli;
const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };
const node = (script: string) => ({ command: process.execPath, args: ['-e', script], timeoutSeconds: 60 });

describe('pipeline commands: the command line', () => {
  it('reads --commit-time as an ISO time or epoch ms', () => {
    expect(commitTimeArg('2026-07-06T08:00:00Z')).toBe(Date.parse('2026-07-06T08:00:00Z'));
    expect(commitTimeArg('1783324800000')).toBe(1783324800000);
    expect(() => commitTimeArg('yesterday')).toThrow(/ISO-8601/);
  });

  it('refuses bad command lines with exit 2 before calling the server', async () => {
    expect((await cli(NOWHERE, 'pipeline', 'run', 'feed')).code).toBe(2);
    expect((await cli(NOWHERE, 'pipeline', 'run', 'feed', '--version', '1.0.0', '--commit-time', 'soon')).code).toBe(2);
    const override = await cli(NOWHERE, 'pipeline', 'run', 'feed', '--version', '1.0.0', '--override-freeze');
    expect(override).toMatchObject({ code: 2, stderr: '--override-freeze needs --reason\n' });
    expect((await cli(NOWHERE, 'pipeline', 'logs')).code).toBe(2);
    expect((await cli(NOWHERE, 'pipeline', 'runs')).code).toBe(2);
  });
});

describe('pipeline commands against a server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startDeliveryServer({ dialect: 'sqlite' });
    await apply(
      server,
      TEAM,
      doc('Pipeline', 'app', {
        stages: [
          { name: 'test', run: node("console.log('hello from test')") },
          { name: 'approve', approval: { timeoutSeconds: 600 } },
        ],
      }),
      doc('Pipeline', 'quick', { stages: [{ name: 'test', run: node("console.log('quick')") }] }),
      doc('Pipeline', 'broken', { stages: [{ name: 'test', run: node('process.exit(4)') }] }),
      serviceDoc('app', { runtime: { kind: 'process', command: 'node', port: 19501 }, delivery: { pipeline: 'app' } }),
    );
  });
  afterAll(() => server?.destroy());

  const get = async (id: string) => (await json<RunView>(server.request(`/api/v1/pipeline-runs/${id}`))).body;

  it('runs, lists, shows, prints logs of and approves a run', async () => {
    const started = await cli(server.env, 'pipeline', 'run', 'app', '--version', '1.1.0', '--commit-time', '2026-07-06T08:00:00Z');
    expect(started.code).toBe(0);
    const id = /pipeline run (pip_\w+)/.exec(started.stdout)![1]!;
    expect(started.stdout).toContain(`app@1.1.0 through app (test → approve) is running`);
    await vi.waitFor(async () => expect((await get(id)).stages[1]!.state).toBe('waiting'), { timeout: 15_000, interval: 50 });

    const runs = await cli(server.env, 'pipeline', 'runs', 'app');
    expect(runs.stdout.split('\n')[0]).toMatch(/^RUN\s+VERSION\s+PIPELINE\s+STATE\s+STAGE\s+BY\s+AGE\s+REASON$/);
    expect(runs.stdout).toMatch(new RegExp(`${id}\\s+1\\.1\\.0\\s+app\\s+running\\s+approve\\s+admin`));
    const shown = await cli(server.env, 'pipeline', 'show', id);
    expect(shown.stdout).toMatch(/test\s+run\s+succeeded/);
    expect(shown.stdout).toMatch(/approve\s+approval\s+waiting/);
    const logs = await cli(server.env, 'pipeline', 'logs', id, '--stage', 'test');
    expect(logs.stdout.split('\n')).toContain('hello from test');
    const all = await cli(server.env, 'pipeline', 'logs', id);
    expect(all.stdout).toContain('test | hello from test');
    expect(all.stdout).toContain('approve | waiting for approval by a deployer');
    const json = await cli(server.env, 'pipeline', 'logs', id, '--stage', 'test', '-o', 'json');
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).stream),
    ).toContain('stdout');

    const approved = await cli(server.env, 'pipeline', 'approve', id);
    expect(approved.stdout).toMatch(/^approved: pipeline run/);
    await vi.waitFor(async () => expect((await get(id)).state).toBe('succeeded'), { timeout: 15_000, interval: 50 });
    const missing = await cli(server.env, 'pipeline', 'logs', id, '--stage', 'deploy');
    expect(missing).toMatchObject({ code: 1, stderr: `run ${id} has no stage 'deploy'; its stages: test, approve\n` });
  });

  it('--wait follows a run to its end and exits 1 unless it succeeded', async () => {
    const ok = await cli(server.env, 'pipeline', 'run', 'app', '--version', '1.1.0', '--pipeline', 'quick', '--wait');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('test: succeeded');
    expect(ok.stdout).toMatch(/is succeeded\n$/);
    const bad = await cli(server.env, 'pipeline', 'run', 'app', '--version', '1.1.0', '--pipeline', 'broken', '--wait');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('test: failed: exited with code 4');
  });

  it('cancels a run, and says why one cannot start', async () => {
    const started = await cli(server.env, 'pipeline', 'run', 'app', '--version', '1.1.0', '-o', 'json');
    const id = (JSON.parse(started.stdout) as RunView).id;
    const busy = await cli(server.env, 'pipeline', 'run', 'app', '--version', '1.1.0');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`^pipeline run ${id} of 'app' \\(version 1\\.1\\.0\\) is still running`));
    const cancelled = await cli(server.env, 'pipeline', 'cancel', id, '--reason', 'not today');
    expect(cancelled.stdout).toMatch(/is cancelled: cancelled by admin: not today/);
    const unknown = await cli(server.env, 'pipeline', 'runs', 'nope');
    expect(unknown).toMatchObject({ code: 1, stderr: "Service 'nope' does not exist\n" });
  });
});
