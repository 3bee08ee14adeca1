import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LATENCY_BUCKETS_MS } from '../../src/agent/protocol.js';
import { startTestServer, type TestServer } from '../../src/testing/server.js';

// The runtime commands as users run them: bin/opsdeck in a child process against a real server.
// No agent runs here; where a command shows what agents report, the test posts a report itself.

const BIN = fileURLToPath(new URL('../../bin/opsdeck', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const MANIFEST = `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata:
  name: feed
  annotations: { opsdeck.dev/version: "1.0.0" }
spec:
  owner: web
  runtime:
    kind: process
    command: node
    args: [server.js]
    instances: 2
    port: 18280
`;

describe('opsdeck runtime commands against a running server', () => {
  let server: TestServer;
  let work: string;

  const opsdeck = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPSDECK_')));
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: { ...env, NODE_NO_WARNINGS: '1', OPSDECK_URL: server.url, OPSDECK_TOKEN: server.token }, cwd: work, timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  const rows = (r: Result) =>
    r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));

  beforeAll(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), 'opsdeck-e2e-runtime-cli-'));
    mkdirSync(dirname(join(work, 'deploy/feed.yaml')), { recursive: true });
    writeFileSync(join(work, 'deploy/feed.yaml'), MANIFEST);
  });
  afterAll(async () => {
    await server?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('brings a service up with apply alone, then creates and lists releases', async () => {
    expect(await opsdeck('apply', '-f', 'deploy')).toMatchObject({ code: 0, stdout: 'team/web created\nservice/feed created\n' });
    await vi.waitFor(
      async () => {
        await server.core.events.dispatch();
        expect((await opsdeck('release', 'list', 'feed')).stdout).toMatch(/^1\.0\.0\s+active\s+admin\s+/m);
      },
      { timeout: 20_000, interval: 100 },
    );

    const created = await opsdeck(
      'release',
      'create',
      'feed',
      '--version',
      '1.1.0',
      '--set',
      'env.LOG_LEVEL=debug',
      '--artifact',
      'build/1.1.0',
    );
    expect(created).toMatchObject({ code: 0, stdout: 'release feed@1.1.0 created\n' });
    const again = await opsdeck('release', 'create', 'feed', '--version', '1.1.0');
    expect(again).toMatchObject({ code: 1, stderr: "Service 'feed' already has a release '1.1.0'\n" });

    const json = JSON.parse((await opsdeck('release', 'list', 'feed', '-o', 'json')).stdout) as { version: string; overrides: unknown }[];
    expect(json.map((r) => r.version)).toEqual(['1.0.0', '1.1.0']);
    expect(json[1]!.overrides).toEqual({ env: { LOG_LEVEL: 'debug' }, artifact: join(work, 'build/1.1.0') });
    expect(rows(await opsdeck('release', 'list', 'feed'))[0]).toEqual(['VERSION', 'STATE', 'CREATED BY', 'AGE', 'FAILED']);
    expect(await opsdeck('release', 'list', 'nope')).toMatchObject({ code: 1, stderr: "Service 'nope' does not exist\n" });
  });

  it('scales a version and splits traffic, naming what is wrong when it cannot', async () => {
    const unscaled = await opsdeck('traffic', 'feed', '--weights', '1.0.0=90,1.1.0=10');
    expect(unscaled.code).toBe(1);
    expect(unscaled.stderr).toContain('scale it first: opsdeck scale feed --version 1.1.0 --instances 1');

    const scaled = await opsdeck('scale', 'feed', '--instances', '1', '--version', '1.1.0');
    expect(scaled.code).toBe(0);
    expect(rows(scaled)).toEqual([
      ['VERSION', 'WEIGHT', 'DESIRED', 'READY', 'HEALTH', 'STATE'],
      ['1.0.0', '100%', '2', '0', 'unknown', 'active'],
      ['1.1.0', '0%', '1', '0', 'unknown', 'active'],
    ]);

    const split = await opsdeck('traffic', 'feed', '--weights', '1.0.0=90,1.1.0=10');
    expect(split.code).toBe(0);
    expect(rows(split).map((r) => r.slice(0, 3))).toEqual([
      ['VERSION', 'WEIGHT', 'DESIRED'],
      ['1.0.0', '90%', '2'],
      ['1.1.0', '10%', '1'],
    ]);
    expect(await opsdeck('traffic', 'feed', '--weights', '1.0.0=90,1.1.0=5')).toMatchObject({
      code: 1,
      stderr: '/weights: weights must sum to 100 (got 95)\n',
    });
    const unknown = await opsdeck('traffic', 'feed', '--weights', '1.0.0=90,2.0.0=10');
    expect(unknown).toMatchObject({ code: 1, stderr: "Service 'feed' has no version '2.0.0'; known versions: 1.0.0, 1.1.0\n" });
    const shown = JSON.parse((await opsdeck('traffic', 'feed', '-o', 'json')).stdout) as { version: string; weight: number }[];
    expect(shown.map((v) => [v.version, v.weight])).toEqual([
      ['1.0.0', 90],
      ['1.1.0', 10],
    ]);
    // The primary version by default.
    expect(rows(await opsdeck('scale', 'feed', '--instances', '3'))[1]!.slice(0, 3)).toEqual(['1.0.0', '90%', '3']);
  });

  it('adds, lists and clears faults', async () => {
    const status = await opsdeck('fault', 'add', 'feed', '--status', '503', '--percent', '10', '--ttl', '5m');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^fault flt_\w+ added: 503 on 10% of feed requests for 5m\n$/);
    const latency = JSON.parse(
      (
        await opsdeck(
          'fault',
          'add',
          'feed',
          '--version',
          '1.1.0',
          '--latency',
          '200ms',
          '--jitter',
          '50ms',
          '--percent',
          '2.5',
          '--ttl',
          '30s',
          '-o',
          'json',
        )
      ).stdout,
    ) as { id: string; kind: string; latencyMs: number; jitterMs: number; percent: number; version: string };
    expect(latency).toMatchObject({ kind: 'latency', latencyMs: 200, jitterMs: 50, percent: 2.5, version: '1.1.0' });

    const list = await opsdeck('fault', 'list', 'feed');
    expect(list.code).toBe(0);
    expect(rows(list)[0]).toEqual(['ID', 'VERSION', 'KIND', 'EFFECT', 'PERCENT', 'EXPIRES', 'BY']);
    expect(
      rows(list)
        .slice(1)
        .map((r) => r.slice(1, 6)),
    ).toEqual([
      ['all', 'status', '503', '10%', 'in 4m'],
      ['1.1.0', 'latency', '+200ms ±50ms', '2.5%', expect.stringMatching(/^in 2\ds$/)],
    ]);

    expect(await opsdeck('fault', 'clear', 'feed', latency.id)).toMatchObject({ code: 0, stdout: `fault ${latency.id} cleared\n` });
    expect(await opsdeck('fault', 'clear', 'feed')).toMatchObject({ code: 0, stdout: 'cleared 1 fault on feed\n' });
    expect(await opsdeck('fault', 'list', 'feed')).toMatchObject({ code: 0, stdout: '', stderr: 'no active faults on feed\n' });
    const missing = await opsdeck('fault', 'clear', 'feed', latency.id);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no active fault');
  });

  it('shows instances, stats and kill requests from what agents report; logs need a live agent', async () => {
    const logs = await opsdeck('logs', 'feed');
    expect(logs.code).toBe(1);
    expect(logs.stderr).toMatch(/no agent has reported in the last 30 s/);
    expect(await opsdeck('instances', 'feed')).toMatchObject({ code: 0, stdout: '', stderr: 'no instances of feed reported\n' });

    const res = await server.request('/api/v1/tokens', { method: 'POST', json: { name: 'agent-1', role: 'agent' } });
    const { token } = (await res.json()) as { token: string };
    const now = Date.now();
    const buckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    buckets[LATENCY_BUCKETS_MS.indexOf(10)] = 100;
    const report = {
      agentId: 'agent-1',
      agentUrl: 'http://127.0.0.1:1',
      appliedRevision: 1,
      at: now,
      instances: [
        {
          id: 'feed-1.0.0-1',
          service: 'feed',
          version: '1.0.0',
          pid: 4242,
          port: 30001,
          state: 'ready',
          restarts: 0,
          startedAt: now - 125_000,
          readyAt: now,
          lastExit: null,
        },
      ],
      versions: [{ service: 'feed', version: '1.0.0', health: 'healthy', ready: 1, desired: 3 }],
      events: [],
      traffic: [
        {
          service: 'feed',
          version: '1.0.0',
          from: now - 10_000,
          to: now,
          requests: 100,
          byClass: { '2xx': 99, '5xx': 1 },
          latencyBuckets: buckets,
        },
      ],
      actionsDone: [],
    };
    expect((await server.request('/api/v1/agent/report', { method: 'POST', json: report, token })).status).toBe(200);

    const instances = await opsdeck('instances', 'feed');
    expect(rows(instances)).toEqual([
      ['VERSION', 'INSTANCE', 'PID', 'PORT', 'STATE', 'RESTARTS', 'UPTIME'],
      ['1.0.0', 'feed-1.0.0-1', '4242', '30001', 'ready', '0', '2m'],
    ]);
    const stats = await opsdeck('stats', 'feed', '--window', '5m');
    expect(rows(stats)).toEqual([
      ['VERSION', 'RPS', 'REQUESTS', 'ERRORS', 'P50', 'P95', 'P99'],
      ['1.0.0', '10', '100', '1.0%', '9ms', '9.9ms', '9.98ms'],
      ['1.1.0', '0', '0', '-', '-', '-', '-'],
    ]);
    const kill = await opsdeck('instances', 'kill', 'feed', '--count', '1', '--version', '1.0.0');
    expect(kill).toMatchObject({ code: 0 });
    expect(kill.stdout).toMatch(/^kill of 1 instance of feed@1\.0\.0 requested \(action act_\w+\)\n$/);
  });
});
