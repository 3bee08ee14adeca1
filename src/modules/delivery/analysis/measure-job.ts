import { Counter } from 'prom-client';
import type { DeliveryContext } from '../contracts.js';
import { ANALYSIS_MEASURED, completeRun, MEASURE_JOB, type MeasurePayload, measureKey } from './analysis.service.js';
import { getRun, insertMeasurement, updateRun } from './analysis.store.js';
import { measure } from './measure.js';
import { assessMetric, countMeasurement, runPhase } from './phase.js';

function isPayload(value: unknown): value is MeasurePayload {
  const p = value as Partial<MeasurePayload> | null;
  return typeof p?.runId === 'string' && typeof p.metric === 'string' && typeof p.seq === 'number';
}

/**
 * The durable measurement loop: each job takes one measurement of one metric, stores it with its
 * Decision, assesses the metric and the run, and schedules the next measurement or completes the
 * run, all in one transaction. The provider is read before that transaction (SQLite has a single
 * connection); the transaction re-reads the run so a terminate or a re-run job wins cleanly.
 */
export function registerMeasureJob(ctx: DeliveryContext): void {
  const { core } = ctx;
  const name = 'opsdeck_delivery_analysis_measurements_total';
  const measured =
    (core.metrics.getSingleMetric(name) as Counter<'provider' | 'outcome'> | undefined) ??
    new Counter({
      name,
      help: 'Analysis measurements taken, by provider and outcome',
      labelNames: ['provider', 'outcome'],
      registers: [core.metrics],
    });

  core.jobs.handle(MEASURE_JOB, async ({ job }) => {
    if (!isPayload(job.payload)) throw new Error(`malformed ${MEASURE_JOB} payload: ${JSON.stringify(job.payload)}`);
    const { runId, metric: name, seq } = job.payload;
    const run = await getRun(core.db, runId);
    const metric = run?.metrics.find((m) => m.name === name);
    if (!run || !metric || run.phase !== 'Running') return;
    const before = run.state[name];
    if (before?.phase !== 'Running' || before.count >= seq) return;

    const now = core.clock.now();
    const result = await measure({
      runtime: ctx.runtime,
      telemetry: ctx.telemetry,
      service: run.service,
      runStartedAt: run.startedAt,
      metric,
      now,
    });

    await core.db.transaction().execute(async (tx) => {
      const locked = await getRun(tx, runId, core.database.dialect);
      const current = locked?.state[name];
      if (locked?.phase !== 'Running' || !current || current.phase !== 'Running' || current.count >= seq) return;
      await insertMeasurement(tx, { runId, metric: name, seq, at: now, outcome: result.outcome, decision: result.decision });
      const counted = countMeasurement(current, result.outcome);
      const assessed = assessMetric(metric.limits, counted, false);
      const message =
        assessed.message === null
          ? null
          : assessed.phase === 'Successful'
            ? assessed.message
            : `${assessed.message}; last: ${result.decision.reason}`;
      const state = { ...locked.state, [name]: { ...counted, phase: assessed.phase, message } };
      await core.events.publish(tx, {
        type: ANALYSIS_MEASURED,
        service: locked.service,
        subject: `analysis/${runId}`,
        change: false,
        data: { runId, rolloutId: locked.rolloutId, seq, outcome: result.outcome, decision: result.decision },
      });
      const phase = runPhase(locked.metrics.map((m) => ({ dryRun: m.limits.dryRun, phase: state[m.name]!.phase })));
      if (phase !== 'Running') {
        await completeRun(ctx, tx, { ...locked, state }, phase, now);
        return;
      }
      await updateRun(tx, runId, { state, phase: 'Running', reason: null, finishedAt: null, now });
      if (assessed.phase === 'Running') {
        const next: MeasurePayload = { runId, metric: name, seq: seq + 1 };
        await core.jobs.schedule(MEASURE_JOB, next, { tx, runAt: now + metric.intervalMs, dedupKey: measureKey(runId, name) });
      }
    });
    measured.inc({ provider: metric.provider.type, outcome: result.outcome });
  });
}
