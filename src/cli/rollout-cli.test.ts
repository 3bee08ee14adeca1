import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogModule } from '../modules/catalog/index.js';
import { deliveryModule, type RolloutView } from '../modules/delivery/index.js';
import { runtimeModule, type VersionView } from '../modules/runtime/index.js';
import { telemetryModule } from '../modules/telemetry/index.js';
import { startTestServer, type TestServer } from '../testing/server.js';

// deploy and rollout commands as users run them: bin/opsdeck in a child process against a real
// server (catalog, runtime, delivery). No agent runs: the test reports instances ready itself.

const BIN = fileURLToPath(new URL('../../bin/opsdeck', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('opsdeck deploy and rollout against a running server', () => {
  let server: TestServer;
  let agentToken = '';
  let eventSeq = 0;

  const env = () => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPSDECK_'))),
    NODE_NO_WARNINGS: '1',
    OPSDECK_URL: server.url,
    OPSDECK_TOKEN: server.token,
  });
  const opsdeck = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: env(), timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  const status = async () => JSON.parse((await opsdeck('rollout', 'status', 'feed', '-o', 'json')).stdout) as RolloutView;

  /** What an agent would say: every version with desired instances has them all ready. */
  const reportReady = async () => {
    const { items } = (await (await server.request('/api/v1/services/feed/versions')).json()) as { items: VersionView[] };
    const now = Date.now();
    const running = items.filter((v) => v.desiredInstances > 0);
    const body = {
      agentId: 'agent-1',
      agentUrl: 'http://127.0.0.1:1',
      appliedRevision: 0,
      at: now,
      instances: [],
      versions: running.map((v) => ({
        service: 'feed',
        version: v.version,
        health: 'healthy',
        ready: v.desiredInstances,
        desired: v.desiredInstances,
      })),
      events: running
        .filter((v) => v.readyInstances < v.desiredInstances)
        .map((v) => ({ id: `ready-${++eventSeq}`, type: 'instance.ready', at: now, service: 'feed', version: v.version })),
      traffic: [],
      actionsDone: [],
    };
    const res = await server.request('/api/v1/agent/report', { method: 'POST', json: body, token: agentToken });
    expect(res.status).toBe(200);
  };
  const until = (what: string, check: (v: RolloutView) => boolean) =>
    vi.waitFor(
      async () => {
        await reportReady();
        const v = await status();
        if (!check(v)) throw new Error(`still waiting for ${what}: ${v.phase} step ${v.step}`);
        return v;
      },
      { timeout: 30_000, interval: 300 },
    );

  beforeAll(async () => {
    server = await startTestServer({ modules: [catalogModule, runtimeModule, telemetryModule, deliveryModule] });
    const team = { apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'web' }, spec: { members: [] } };
    const service = {
      apiVersion: 'opsdeck.dev/v1',
      kind: 'Service',
      metadata: { name: 'feed', annotations: { 'opsdeck.dev/version': '1.0.0' } },
      spec: {
        owner: 'web',
        runtime: { kind: 'process', command: 'node', args: ['server.js'], instances: 2, port: 18380 },
        delivery: { strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }], analysis: 'none' } } },
      },
    };
    expect((await server.request('/api/v1/resources/apply', { method: 'POST', json: { documents: [team, service] } })).status).toBe(200);
    const token = await server.request('/api/v1/tokens', { method: 'POST', json: { name: 'agent-1', role: 'agent' } });
    agentToken = ((await token.json()) as { token: string }).token;
    await vi.waitFor(
      async () => {
        const res = await server.request('/api/v1/services/feed/versions');
        if (res.status !== 200) throw new Error('not synced');
      },
      { timeout: 20_000, interval: 100 },
    );
  });
  afterAll(() => server?.destroy());

  it('deploys, shows the status as text and JSON, aborts, and refuses what cannot be done', async () => {
    const deployed = await opsdeck('deploy', 'feed', '--version', '1.1.0', '--commit-time', '2026-03-02T09:00:00Z');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/^rollout rol_\w+ of feed started: 1\.0\.0 → 1\.1\.0 \(canary, inline, 2 steps\)\n/);
    expect(deployed.stdout).toContain('follow it with: opsdeck rollout status feed --watch\n');

    const paused = await until('the pause step', (v) => v.phase === 'Paused');
    expect(paused).toMatchObject({
      step: 1,
      pauseReason: 'step',
      weights: { '1.0.0': 50, '1.1.0': 50 },
      commitTime: Date.parse('2026-03-02T09:00:00Z'),
    });

    const text = await opsdeck('rollout', 'status', 'feed');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Phase     Paused (step): step 2/2 pause until promoted\n');
    expect(text.stdout).toContain('Weights   1.0.0 50%   1.1.0 50%\n');
    expect(text.stdout).toMatch(/✓ {2}1 {2}setWeight 50%\n {10}▶ {2}2 {2}pause until promoted\n/);
    expect(text.stdout).toMatch(/Decisions \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}Started by admin: 1\.0\.0 → 1\.1\.0/);

    const again = await opsdeck('deploy', 'feed', '--version', '1.2.0');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `Service 'feed' already has an active rollout: ${paused.id} (1.1.0, Paused at step 2/2, started by admin); promote, abort or wait for it first\n`,
    );

    const aborted = await opsdeck('rollout', 'abort', 'feed', '--reason', 'bad build');
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toMatch(
      new RegExp(`^rollout ${paused.id} of feed \\(1\\.1\\.0\\) aborted: Aborted (now|\\d+s ago): aborted by admin: bad build\\n$`),
    );
    const after = await status();
    expect(after).toMatchObject({ phase: 'Aborted', reason: 'aborted by admin: bad build', weights: { '1.0.0': 100 } });
    expect(after.timeToWeightZeroMs).toBeGreaterThanOrEqual(0);

    const watched = await opsdeck('rollout', 'status', 'feed', '--watch', '-o', 'json');
    expect(watched.code).toBe(1);
    expect(JSON.parse(watched.stdout.trim())).toMatchObject({ id: paused.id, phase: 'Aborted' });

    const list = JSON.parse((await opsdeck('rollout', 'list', '-o', 'json')).stdout) as RolloutView[];
    expect(list.map((r) => [r.id, r.phase])).toEqual([[paused.id, 'Aborted']]);
    const promote = await opsdeck('rollout', 'promote', 'feed');
    expect(promote).toMatchObject({
      code: 1,
      stderr: `cannot promote rollout ${paused.id} of 'feed' (1.1.0): it is Aborted: aborted by admin: bad build\n`,
    });

    expect((await opsdeck('rollout', 'abort')).code).toBe(2);
    expect((await opsdeck('rollout', 'abort', 'feed', '--all')).code).toBe(2);
    expect((await opsdeck('deploy', 'feed', '--version', '1.2.0', '--override-freeze')).code).toBe(2);
    expect((await opsdeck('deploy', 'feed', '--version', '1.2.0', '--commit-time', 'yesterday')).code).toBe(2);
    expect(await opsdeck('deploy', 'nope', '--version', '1.2.0')).toMatchObject({ code: 1, stderr: "Service 'nope' does not exist\n" });
  });

  it('--watch follows a rollout live until it succeeds', async () => {
    expect((await opsdeck('deploy', 'feed', '--version', '1.2.0')).code).toBe(0);
    await until('the pause step', (v) => v.phase === 'Paused' && v.version === '1.2.0');

    const watcher = spawn(process.execPath, [BIN, 'rollout', 'status', 'feed', '--watch', '-o', 'json'], { env: env() });
    let out = '';
    watcher.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number>((resolve) => watcher.on('exit', (code) => resolve(code ?? -1)));
    await vi.waitFor(() => expect(out).toContain('"phase":"Paused"'), { timeout: 20_000, interval: 100 });

    const promoted = await opsdeck('rollout', 'promote', 'feed', '--reason', 'metrics are fine');
    expect(promoted.code, promoted.stderr).toBe(0);
    await until('success', (v) => v.phase === 'Succeeded');
    expect(await exited).toBe(0);
    const states = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RolloutView);
    expect(states[0]).toMatchObject({ version: '1.2.0', phase: 'Paused' });
    expect(states.at(-1)).toMatchObject({ version: '1.2.0', phase: 'Succeeded', weights: { '1.2.0': 100 } });
  });
});
