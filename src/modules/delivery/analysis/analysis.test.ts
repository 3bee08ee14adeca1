import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import type { DomainEvent } from '../../../core/events/events.js';
import { DIALECTS } from '../../../testing/databases.js';
import { apply, json } from '../../runtime/runtime.test-support.js';
import { ANALYSIS_COMPLETED, type AnalysisCompleted, type StartAnalysisInput } from '../contracts.js';
import { type AnalysisHarness, drive, runView, serve, startAnalysisServer } from './analysis.test-support.js';
import { MEASURE_JOB } from './index.js';

const template = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'opsdeck.dev/v1',
  kind: 'AnalysisTemplate',
  metadata: { name },
  spec,
});

describe.each(DIALECTS)('analysis runs on %s', (dialect) => {
  const clock = new FakeClock('2026-04-01T09:00:00Z');
  let h: AnalysisHarness;

  beforeAll(async () => {
    h = await startAnalysisServer(dialect, clock);
  });
  afterAll(async () => {
    await h?.server.destroy();
  });

  const start = (input: Partial<StartAnalysisInput> & { rolloutId: string }) =>
    h.server.core.db
      .transaction()
      .execute((tx) =>
        h.analysis.start({ service: 'feed', canary: '1.1.0', stable: '1.0.0', mode: 'inline', templates: 'builtin', ...input }, tx),
      );

  const events = async (type: string) =>
    (await json<{ items: DomainEvent[] }>(h.server.request(`/api/v1/events?types=${type}&limit=1000`))).body.items;

  const pendingMeasurements = async (runId: string) =>
    (await h.server.core.jobs.list({ kind: MEASURE_JOB, state: 'pending' })).filter(
      (j) => (j.payload as { runId: string }).runId === runId,
    );

  it('fails a canary with 5% errors on the error-ratio verdict, explains it, and publishes the completion with the phase', async () => {
    const started = await start({ rolloutId: 'rol_bad', step: 2 });
    expect(started).toMatchObject({ phase: 'Running', mode: 'inline', step: 2, decisions: [] });
    expect(await pendingMeasurements(started.id)).toHaveLength(2);

    const run = await drive(h, clock, started.id, {
      steps: 30,
      traffic: () => ({
        service: 'feed',
        served: [
          { version: '1.1.0', requests: 40, errors: 2 },
          { version: '1.0.0', requests: 360, errors: 0 },
        ],
      }),
    });
    expect(run.phase).toBe('Failed');
    expect(run.finishedAt).toBe(clock.now());
    expect(run.reason).toMatch(
      /^metric 'error-ratio' Failed: 1 failed measurement exceeds the failure limit of 0; last: canary error ratio 5% vs stable 0%/,
    );
    expect(run.reason).toContain('exceeds the 0.1 pp floor: Failed');
    const verdicts = run.decisions.filter((d) => d.metric === 'error-ratio').map((d) => d.verdict);
    expect(verdicts.at(-1)).toBe('High');
    expect(verdicts.slice(0, -1).every((v) => v === 'NoData')).toBe(true);
    // The canary failed within a few hundred requests, well before the 500 needed to pass.
    const last = run.decisions.findLast((d) => d.metric === 'error-ratio')!;
    expect(last.samples!.canary).toBeLessThanOrEqual(400);
    expect(last).toMatchObject({
      values: { canaryErrorRatio: 0.05, stableErrorRatio: 0 },
      statistic: { name: expect.stringContaining('mSPRT') },
    });
    expect(run.metrics.map((m) => [m.name, m.phase])).toEqual([
      ['error-ratio', 'Failed'],
      ['latency', 'Successful'],
    ]);
    // The rest of the run is terminated: nothing left to measure.
    expect(await pendingMeasurements(started.id)).toEqual([]);

    const completed = (await events(ANALYSIS_COMPLETED)).filter((e) => (e.data as AnalysisCompleted).runId === started.id);
    expect(completed).toEqual([
      expect.objectContaining({
        service: 'feed',
        change: false,
        subject: `analysis/${started.id}`,
        data: { runId: started.id, rolloutId: 'rol_bad', phase: 'Failed', reason: run.reason },
      }),
    ]);
    const measured = (await events('delivery.analysis.measured')).filter((e) => (e.data as { runId: string }).runId === started.id);
    expect(measured).toHaveLength(run.decisions.length);

    const listed = await json<{ items: { id: string; decisions: unknown[] }[] }>(h.server.request('/api/v1/rollouts/rol_bad/analysis'));
    expect(listed.body.items.map((r) => [r.id, r.decisions.length])).toEqual([[started.id, run.decisions.length]]);
  });

  it('passes a healthy canary after its 24 measurements and keeps every decision', async () => {
    const started = await start({ rolloutId: 'rol_good' });
    const run = await drive(h, clock, started.id, {
      steps: 30,
      traffic: () => ({
        service: 'feed',
        served: [
          { version: '1.1.0', requests: 60, errors: 0 },
          { version: '1.0.0', requests: 540, errors: 1 },
        ],
      }),
    });
    expect(run.phase).toBe('Successful');
    expect(run.reason).toBe('all metrics Successful: error-ratio (24 measurements), latency (24 measurements)');
    expect(run.decisions).toHaveLength(48);
    const last = run.decisions.filter((d) => d.metric === 'latency').at(-1)!;
    expect(last.verdict).toBe('Pass');
    expect(last.reason).toContain('is not significantly slower: Pass');
    expect(run.metrics[0]).toMatchObject({ name: 'error-ratio', count: 24, noData: 8, successful: 16, failed: 0 });
  });

  it('is Inconclusive when the canary never gets enough traffic, so the rollout waits for a human', async () => {
    const started = await start({ rolloutId: 'rol_idle', args: { count: '3' } });
    const run = await drive(h, clock, started.id, {
      steps: 5,
      traffic: () => ({ service: 'feed', served: [{ version: '1.0.0', requests: 500 }] }),
    });
    expect(run.phase).toBe('Inconclusive');
    // Both metrics run out of data together; whichever is assessed first decides the reason.
    expect(run.reason).toMatch(/^metric '(error-ratio|latency)' Inconclusive: never had enough data in 3 measurements/);
    expect(run.decisions.at(-1)!.reason).toContain('too few canary requests to judge (0 of 500)');
  });

  it('judges against the stable traffic from before the run when the stable gets none (blue-green after the switch)', async () => {
    for (let i = 0; i < 12; i++) {
      clock.advance(5000);
      await serve(h, clock, 'cart', [{ version: '1.0.0', requests: 200, errors: 0 }]);
    }
    const started = await start({ rolloutId: 'rol_bg_post', service: 'cart', mode: 'postPromotion' });
    const run = await drive(h, clock, started.id, {
      steps: 20,
      traffic: () => ({ service: 'cart', served: [{ version: '1.1.0', requests: 200, errors: 10 }] }),
    });
    expect(run.phase).toBe('Failed');
    const last = run.decisions.findLast((d) => d.metric === 'error-ratio')!;
    expect(last).toMatchObject({ verdict: 'High', values: { baseline: 'before-run', stableErrorRatio: 0 } });
    expect(last.reason).toContain('(stable baseline from before the run: it had no traffic since)');
  });

  it('refuses templates whose conditions do not parse at apply time, naming field and column', async () => {
    const res = await apply(
      h.server,
      template('bad', {
        metrics: [{ name: 'errors', interval: '10s', successCondition: 'result << 1', provider: { runtime: { query: 'errorRatio' } } }],
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { details: { issues: { pointer: string; message: string }[] } } };
    expect(body.error.details.issues).toEqual([
      expect.objectContaining({ pointer: '/spec/metrics/0/successCondition', message: "does not parse: unexpected '<' at column 9" }),
    ]);
    const typos = await apply(
      h.server,
      template('typos', {
        metrics: [
          { name: 'a', interval: '10s', provider: { runtime: { query: 'bogus' } } },
          { name: 'b', interval: '10s', provider: { judge: { check: 'latency', alpah: 0.1 } } },
        ],
      }),
    );
    const issues = ((await typos.json()) as typeof body).error.details.issues.map((i) => [i.pointer, i.message]);
    expect(issues).toEqual([
      ['/spec/metrics/0/provider/runtime/query', expect.stringContaining('must be one of errorRatio, p50, p95, p99, rate, requests')],
      ['/spec/metrics/1/provider/judge/alpah', "unknown field 'alpah' (did you mean 'alpha'?)"],
    ]);
    const none = await apply(h.server, template('none', { metrics: [{ name: 'c', interval: '10s', provider: {} }] }));
    expect(((await none.json()) as typeof body).error.details.issues).toEqual([
      expect.objectContaining({
        pointer: '/spec/metrics/0/provider',
        message: "must name exactly one provider: 'runtime', 'judge' or 'promql'",
      }),
    ]);
  });

  it('measures template metrics from runtime stats with Argo semantics; dry runs never decide', async () => {
    const res = await apply(
      h.server,
      template('errors', {
        args: [{ name: 'limit', value: '0.01' }],
        metrics: [
          {
            name: 'error-ratio',
            interval: '10s',
            count: 3,
            successCondition: 'result < number(args.limit)',
            failureCondition: 'result > 0.05',
            provider: { runtime: { query: 'errorRatio', window: '10s' } },
          },
          {
            name: 'p99-dry',
            interval: '10s',
            count: 2,
            dryRun: true,
            failureCondition: 'result > 1',
            provider: { runtime: { query: 'p99', window: '10s' } },
          },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const traffic = (errors: number) => () => ({
      service: 'feed',
      served: [
        { version: '1.1.0', requests: 200, errors },
        { version: '1.0.0', requests: 200 },
      ],
    });

    const good = await start({ rolloutId: 'rol_tpl', templates: ['errors'] });
    const ok = await drive(h, clock, good.id, { steps: 10, stepMs: 10_000, traffic: traffic(1) });
    expect(ok.phase).toBe('Successful');
    expect(ok.metrics.map((m) => [m.name, m.phase, m.successful, m.failed])).toEqual([
      ['error-ratio', 'Successful', 3, 0],
      ['p99-dry', 'Failed', 0, 1],
    ]);
    expect(ok.decisions[0]!.reason).toMatch(
      /^errorRatio of feed@1\.1\.0 over the last 10s was 0\.005 \(200 requests\): successCondition 'result < number\(args\.limit\)' met: Successful$/,
    );
    const dry = ok.decisions.find((d) => d.metric === 'p99-dry')!;
    expect(dry).toMatchObject({ verdict: 'Failed', threshold: 'failureCondition: result > 1' });

    // 2% errors: neither condition holds, and inconclusiveLimit 0 ends the run at once.
    const unsure = await start({ rolloutId: 'rol_tpl2', templates: ['errors'], args: { limit: '0.015' } });
    const inconclusive = await drive(h, clock, unsure.id, { steps: 10, stepMs: 10_000, traffic: traffic(4) });
    expect(inconclusive.phase).toBe('Inconclusive');
    expect(inconclusive.reason).toContain(
      "neither successCondition 'result < number(args.limit)' nor failureCondition 'result > 0.05' met",
    );

    // Arguments a template needs must be given; unknown templates are named.
    const needs = await apply(
      h.server,
      template('needs-arg', {
        args: [{ name: 'budget' }],
        metrics: [{ name: 'rate', interval: '10s', provider: { runtime: { query: 'rate' } } }],
      }),
    );
    expect(needs.status).toBe(200);
    await expect(start({ rolloutId: 'rol_x', templates: ['needs-arg'] })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('budget'),
    });
    await expect(start({ rolloutId: 'rol_x', templates: ['nope'] })).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining("AnalysisTemplate 'nope' does not exist; known: builtin, errors, needs-arg"),
    });
  });

  it('measures a business metric with PromQL from the telemetry store (seed 001: business metric drop > 5%)', async () => {
    const bad = await apply(
      h.server,
      template('orders-broken', {
        metrics: [
          { name: 'orders', interval: '10s', provider: { promql: { query: 'sum(rate(orders_total{version="{{args.nope}}"}[1m])' } } },
        ],
      }),
    );
    expect(bad.status).toBe(400);
    const unparsable = await apply(
      h.server,
      template('orders-syntax', {
        metrics: [{ name: 'orders', interval: '10s', provider: { promql: { query: 'sum(rate(orders_total[1m])' } } }],
      }),
    );
    expect(unparsable.status).toBe(400);
    expect(JSON.stringify(await unparsable.json())).toContain('/spec/metrics/0/provider/promql/query');

    const res = await apply(
      h.server,
      template('orders', {
        metrics: [
          {
            name: 'orders-vs-stable',
            interval: '10s',
            count: 1,
            successCondition: 'result >= 0.95',
            failureCondition: 'result < 0.95',
            provider: {
              promql: {
                query: 'sum(rate(orders_total{version="{{args.canary}}"}[1m])) / sum(rate(orders_total{version="{{args.stable}}"}[1m]))',
              },
            },
          },
        ],
      }),
    );
    expect(res.status, JSON.stringify(await res.json())).toBe(200);
    // The canary takes 10% fewer orders per second than the stable.
    const telemetry = h.server.modules.telemetry as {
      write(samples: { labels: Record<string, string>; value: number; t: number }[]): Promise<unknown>;
    };
    const now = clock.now();
    const samples = [];
    for (let i = -12; i <= 12; i++) {
      const t = now + i * 5000;
      samples.push({ labels: { __name__: 'orders_total', version: '1.0.0' }, value: 1000 + (i + 12) * 50, t });
      samples.push({ labels: { __name__: 'orders_total', version: '1.1.0' }, value: 1000 + (i + 12) * 45, t });
    }
    await telemetry.write(samples);
    const run = await start({ rolloutId: 'rol_biz', templates: ['orders'] });
    const done = await drive(h, clock, run.id, { steps: 3, stepMs: 10_000 });
    expect(done.phase).toBe('Failed');
    const decision = done.decisions[0]!;
    expect(decision.verdict).toBe('Failed');
    expect(Number(decision.values.result)).toBeCloseTo(0.9, 6);
    expect(decision.reason).toMatch(/version="1\.1\.0".*was 0\.9.*failureCondition 'result < 0\.95' met: Failed$/);
  });

  it('terminates a background run: pending measurements cancelled, the phase from what was measured, no completion event', async () => {
    const started = await start({ rolloutId: 'rol_bg', mode: 'background' });
    const traffic = () => ({
      service: 'feed',
      served: [
        { version: '1.1.0', requests: 50 },
        { version: '1.0.0', requests: 450 },
      ],
    });
    const before = await drive(h, clock, started.id, { steps: 3, traffic });
    expect(before.phase).toBe('Running');
    expect(before.metrics.map((m) => m.count)).toEqual([3, 3]);
    await h.server.core.db.transaction().execute((tx) => h.analysis.terminate(started.id, 'rollout promoted', tx));
    expect(await pendingMeasurements(started.id)).toEqual([]);
    const after = await drive(h, clock, started.id, { steps: 3, traffic });
    expect(after).toMatchObject({ phase: 'Successful', reason: 'terminated: rollout promoted', finishedAt: expect.any(Number) });
    expect(after.decisions).toHaveLength(6);
    expect((await events(ANALYSIS_COMPLETED)).some((e) => (e.data as AnalysisCompleted).runId === started.id)).toBe(false);
    // Terminating again is a no-op.
    await h.server.core.db.transaction().execute((tx) => h.analysis.terminate(started.id, 'again', tx));
    expect((await runView(h, started.id)).reason).toBe('terminated: rollout promoted');
  });

  it('stores a measurement once when its job runs again', async () => {
    const started = await start({ rolloutId: 'rol_dup', mode: 'background' });
    await drive(h, clock, started.id, { steps: 1 });
    await h.server.core.jobs.schedule(MEASURE_JOB, { runId: started.id, metric: 'latency', seq: 1 });
    await h.server.core.jobs.runDue();
    const run = await runView(h, started.id);
    expect(run.decisions.map((d) => d.metric)).toEqual(['error-ratio', 'latency']);
    expect(run.metrics.map((m) => m.count)).toEqual([1, 1]);
    await h.server.core.db.transaction().execute((tx) => h.analysis.terminate(started.id, 'test over', tx));
  });

  it('answers 404 for an unknown run and an empty list for a rollout without runs', async () => {
    const missing = await json<{ error: { message: string } }>(h.server.request('/api/v1/analysis-runs/anr_nope'));
    expect(missing).toMatchObject({ status: 404, body: { error: { message: "analysis run 'anr_nope' does not exist" } } });
    expect((await json<{ items: unknown[] }>(h.server.request('/api/v1/rollouts/rol_none/analysis'))).body).toEqual({ items: [] });
    expect((await h.server.request('/api/v1/analysis-runs/anr_nope', { token: '' })).status).toBe(401);
  });
});

describe.each(DIALECTS)('analysis across a restart on %s', (dialect) => {
  it('resumes from the durable job: no measurement repeated or skipped', async () => {
    const clock = new FakeClock('2026-04-02T09:00:00Z');
    const first = await startAnalysisServer(dialect, clock);
    const started = await first.server.core.db.transaction().execute((tx) =>
      first.analysis.start(
        {
          rolloutId: 'rol_r',
          service: 'feed',
          canary: '1.1.0',
          stable: '1.0.0',
          mode: 'inline',
          templates: 'builtin',
          args: { count: '5' },
        },
        tx,
      ),
    );
    const traffic = () => ({
      service: 'feed',
      served: [
        { version: '1.1.0', requests: 200 },
        { version: '1.0.0', requests: 1800 },
      ],
    });
    await drive(first, clock, started.id, { steps: 2, traffic });
    await first.server.close(2000);

    const second = await startAnalysisServer(dialect, clock, first.server.store);
    try {
      const run = await drive(second, clock, started.id, { steps: 10, traffic });
      expect(run.phase).toBe('Successful');
      expect(run.metrics.map((m) => m.count)).toEqual([5, 5]);
      const seqs = run.decisions.filter((d) => d.metric === 'error-ratio').map((d) => d.at);
      expect(new Set(seqs).size).toBe(5);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await second.server.destroy();
    }
  });
});
