import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, fixtureServiceYaml, freePort, waitFor } from '../../src/testing/fleet.js';
import { type LoadResult, runLoad, startLoad } from '../../src/testing/load.js';

// Delivery through real processes: a control plane (`opsdeck server --no-agent`) and an agent whose
// router carries steady traffic to fixture-server instances while rollouts run. The strategy is an
// inline fast canary with the built-in judge in the background, measuring every 2 s.

interface LogEntry {
  seq: number;
  at: number;
  actor: string;
  type: string;
  step: number | null;
  message: string;
  data: Record<string, unknown>;
}
interface RolloutView {
  id: string;
  version: string;
  stable: string | null;
  phase: 'Progressing' | 'Paused' | 'Succeeded' | 'Aborted';
  step: number;
  totalSteps: number;
  reason: string | null;
  pauseUntil: number | null;
  weights: Record<string, number>;
  versions: { version: string; role: string; weight: number; desiredInstances: number; readyInstances: number }[];
  decision: { source: string; reason: string; phase?: string; decisions?: { metric?: string; verdict?: string; reason?: string }[] } | null;
  timeToWeightZeroMs: number | null;
  overrideFreeze: { reason: string; freezes: { name: string }[] } | null;
  log: LogEntry[];
  startedAt: number;
  finishedAt: number | null;
}
interface DoraMetrics {
  deploymentFrequency: { deployments: number };
  changeFailureRate: {
    finished: number;
    failures: number;
    ratio: number | null;
    byCause: { aborted: number; rolledBack: number; incident: number };
  };
  timeToRestore: { samples: number };
}

const STEPS = ['setWeight 20', 'pause 10s', 'setWeight 50', 'pause 10s'];

const serviceYaml = (port: number) =>
  fixtureServiceYaml({
    name: 'feed',
    team: 'web',
    port,
    extraSpec: `  delivery:
    strategy:
      canary:
        steps:
          - setWeight: 20
          - pause: { duration: 10s }
          - setWeight: 50
          - pause: { duration: 10s }
        analysis: { templates: [builtin], args: { interval: 2s } }
        progressDeadlineSeconds: 60
`,
  });

describe('delivery: canary rollouts through the agent', () => {
  const fleet = new Fleet();
  let target: string;

  const rollout = () => fleet.json<RolloutView>('/api/v1/services/feed/rollout');
  const finished = (version: string, timeoutMs = 60_000) =>
    waitFor(
      `the ${version} rollout to finish`,
      async () => {
        const r = await rollout();
        return r.version === version && (r.phase === 'Succeeded' || r.phase === 'Aborted') ? r : undefined;
      },
      timeoutMs,
    );
  const deploy = (version: string, extra: Record<string, unknown> = {}) =>
    fleet.api('/api/v1/services/feed/deploy', { method: 'POST', json: { version, ...extra } });
  const readyStable = async (version: string) => {
    const { items } = await fleet.json<{ items: { version: string; weight: number; readyInstances: number }[] }>(
      '/api/v1/services/feed/versions',
    );
    return items.some((v) => v.version === version && v.weight === 100 && v.readyInstances >= 2);
  };

  /** Steady traffic (8 clients) through the router until the returned stop() is called. */
  const traffic = () => startLoad(`${target}?sleep=5`, { concurrency: 8 });

  beforeAll(async () => {
    await fleet.start();
    const port = await freePort();
    target = `http://127.0.0.1:${port}/feed`;
    await fleet.apply(serviceYaml(port));
    await waitFor('1.0.0 serving on two instances', () => readyStable('1.0.0'), 30_000);
  }, 90_000);
  afterAll(() => fleet.stop(), 60_000);

  it('rolls a canary with 5% errors back automatically, naming the error-ratio verdict', async () => {
    const release = await fleet.api('/api/v1/services/feed/releases', {
      method: 'POST',
      json: { version: '1.1.0', set: { 'env.ERROR_RATIO': '0.05' } },
    });
    expect(release.status).toBe(201);
    const stop = traffic();
    try {
      const res = await deploy('1.1.0');
      expect(res.status).toBe(201);
      const r = await finished('1.1.0');
      expect(r.phase).toBe('Aborted');
      expect(r.stable).toBe('1.0.0');
      // The canary has no traffic left: its share went back to the stable.
      await waitFor('1.1.0 at weight 0', async () => {
        const v = await rollout();
        return (v.weights['1.1.0'] ?? 0) === 0 && v.versions.every((x) => x.version !== '1.1.0' || x.weight === 0) ? v : undefined;
      });
      expect(r.decision?.source).toBe('analysis');
      expect(r.decision?.reason).toMatch(/error-ratio/);
      const deciding = r.decision?.decisions?.at(-1);
      expect(deciding).toMatchObject({ metric: 'error-ratio', verdict: 'High' });
      expect(r.log.find((l) => l.type === 'aborted')?.message).toMatch(/error ratio/i);
      expect(r.log.some((l) => l.type === 'restored')).toBe(true);
      expect(r.timeToWeightZeroMs).not.toBeNull();
      expect(r.reason).toMatch(/error-ratio/);
    } finally {
      await stop();
    }
    // Traffic after the rollback is served by the stable only.
    const after = await runLoad(target, { count: 200 });
    expect(after.failures).toBe(0);
    expect([...after.versions.keys()]).toEqual(['1.0.0']);
  });

  it('promotes a good canary through every step to 100%', async () => {
    const stop = traffic();
    let load: LoadResult;
    try {
      const res = await deploy('1.2.0');
      expect(res.status).toBe(201);
      const r = await finished('1.2.0');
      expect(r.phase, r.reason ?? '').toBe('Succeeded');
      expect(r.totalSteps).toBe(STEPS.length);
      const completed = r.log.filter((l) => l.type === 'step').map((l) => l.step);
      expect(completed).toEqual([0, 1, 2, 3]);
      expect(r.log.some((l) => l.type === 'succeeded')).toBe(true);
      await waitFor('1.2.0 at 100%', () => readyStable('1.2.0'), 30_000);
    } finally {
      load = await stop();
    }
    // The router answered every request during the whole rollout, and both versions served.
    expect(load.failures).toBe(0);
    expect(load.versions.get('1.2.0') ?? 0).toBeGreaterThan(0);
    const after = await runLoad(target, { count: 200 });
    expect([...after.versions.keys()]).toEqual(['1.2.0']);
  });

  it('resumes at the same step after a kill -9 of the control plane during a pause', async () => {
    const stop = traffic();
    try {
      expect((await deploy('1.3.0')).status).toBe(201);
      const paused = await waitFor(
        'the rollout to be in its first pause',
        async () => {
          const r = await rollout();
          return r.version === '1.3.0' && r.step === 1 && r.pauseUntil !== null ? r : undefined;
        },
        30_000,
      );
      await Fleet.kill9(fleet.server);
      await fleet.startServer();
      const r = await finished('1.3.0');
      expect(r.phase, r.reason ?? '').toBe('Succeeded');
      // Every step completed once, in order; each pause was armed once (the timer survived the kill).
      expect(r.log.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([0, 1, 2, 3]);
      expect(r.log.filter((l) => l.type === 'pause').map((l) => l.step)).toEqual([1, 3]);
      expect(r.log.filter((l) => l.type === 'started')).toHaveLength(1);
      const firstPauseDone = r.log.find((l) => l.type === 'step' && l.step === 1);
      expect(firstPauseDone?.at).toBeGreaterThanOrEqual(paused.pauseUntil ?? 0);
      const seqs = r.log.map((l) => l.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      await waitFor('1.3.0 at 100%', () => readyStable('1.3.0'), 30_000);
    } finally {
      await stop();
    }
  });

  it('refuses a deploy during a freeze, and lets an override with a reason through, audited', async () => {
    const freeze = await fleet.api('/api/v1/freezes', {
      method: 'POST',
      json: { key: 'e2e-freeze', service: 'feed', reason: 'end-of-quarter freeze' },
    });
    expect(freeze.status).toBe(201);
    const refused = await deploy('1.4.0');
    expect(refused.status).toBe(423);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('frozen');
    expect(body.error.message).toContain('e2e-freeze');
    expect(body.error.message).toContain('end-of-quarter freeze');
    expect((await rollout()).version).toBe('1.3.0');

    const stop = traffic();
    try {
      const passed = await deploy('1.4.0', { overrideFreeze: { reason: 'hotfix for checkout' } });
      expect(passed.status).toBe(201);
      const started = (await passed.json()) as { id: string };
      const audit = await fleet.json<{ items: { action: string; actor: string; change: unknown; target?: string }[] }>(
        '/api/v1/audit?action=delivery.freeze.override',
      );
      expect(audit.items).toHaveLength(1);
      expect(JSON.stringify(audit.items[0])).toContain('hotfix for checkout');
      expect(JSON.stringify(audit.items[0])).toContain('e2e-freeze');
      const view = await rollout();
      expect(view.id).toBe(started.id);
      expect(view.overrideFreeze?.reason).toBe('hotfix for checkout');
      expect(view.log.some((l) => l.type === 'freeze-override')).toBe(true);

      const lifted = await fleet.api('/api/v1/freezes/e2e-freeze', { method: 'DELETE' });
      expect(lifted.status).toBe(200);
      const r = await finished('1.4.0');
      expect(r.phase, r.reason ?? '').toBe('Succeeded');
    } finally {
      await stop();
    }
  });

  it('rolls back a latency regression (+250 ms), naming the latency verdict', async () => {
    const release = await fleet.api('/api/v1/services/feed/releases', {
      method: 'POST',
      json: { version: '1.5.0', set: { 'env.ADDED_LATENCY_MS': '250' } },
    });
    expect(release.status).toBe(201);
    const stop = traffic();
    try {
      expect((await deploy('1.5.0')).status).toBe(201);
      const r = await finished('1.5.0');
      expect(r.phase).toBe('Aborted');
      expect(r.decision?.source).toBe('analysis');
      expect(r.decision?.reason).toMatch(/'latency' Failed/);
      expect(r.decision?.decisions?.filter((d) => d.metric === 'latency').at(-1)).toMatchObject({ verdict: 'High' });
      await waitFor('1.5.0 at weight 0', async () => ((await rollout()).weights['1.5.0'] ?? 0) === 0);
    } finally {
      await stop();
    }
  });

  it('reports DORA metrics that match the history above', async () => {
    // 1.1.0 and 1.5.0 aborted; 1.2.0, 1.3.0 and 1.4.0 succeeded. The report follows the event stream.
    const report = await waitFor(
      'DORA to count five finished rollouts',
      async () => {
        const r = await fleet.json<{ overall: DoraMetrics; services: ({ service: string } & DoraMetrics)[] }>('/api/v1/dora?service=feed');
        return r.services.find((s) => s.service === 'feed')?.changeFailureRate.finished === 5 ? r : undefined;
      },
      20_000,
    );
    const feed = report.services.find((s) => s.service === 'feed')!;
    expect(feed.deploymentFrequency.deployments).toBe(3);
    expect(feed.changeFailureRate.failures).toBe(2);
    expect(feed.changeFailureRate.byCause).toEqual({ aborted: 2, rolledBack: 0, incident: 0 });
    expect(feed.changeFailureRate.ratio).toBeCloseTo(0.4, 6);
    expect(feed.timeToRestore.samples).toBe(2);
  });
});
