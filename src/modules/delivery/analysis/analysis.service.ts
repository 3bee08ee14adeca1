import type { Executor } from '../../../core/db/database.js';
import { newId } from '../../../core/ids.js';
import {
  ANALYSIS_COMPLETED,
  type AnalysisCompleted,
  type AnalysisPhase,
  type AnalysisRunView,
  type AnalysisService,
  type DeliveryContext,
  type StartAnalysisInput,
} from '../contracts.js';
import { getRun, insertRun, type MeasurementRecord, measurementsOf, type RunRecord, runsOfRollout, updateRun } from './analysis.store.js';
import { resolveMetrics } from './metrics.js';
import { assessMetric, initialMetricState, type MetricState, runPhase } from './phase.js';

export const MEASURE_JOB = 'delivery.analysis.measure';
export const ANALYSIS_STARTED = 'delivery.analysis.started';
export const ANALYSIS_MEASURED = 'delivery.analysis.measured';
export const ANALYSIS_TERMINATED = 'delivery.analysis.terminated';

export interface MeasurePayload {
  runId: string;
  metric: string;
  /** The measurement this job takes (1-based): a job run twice stores it once. */
  seq: number;
}

/** At most one pending measurement per metric of a run; terminate cancels it by this key. */
export const measureKey = (runId: string, metric: string) => `analysis:${runId}:${metric}`;

/** Per-metric counters beside the decisions, for `rollout status` and the console. */
export interface MetricSummary extends MetricState {
  name: string;
  template: string;
  dryRun: boolean;
  provider: 'runtime' | 'judge' | 'promql';
}

export interface AnalysisRunDetails extends AnalysisRunView {
  templates: string[] | 'builtin';
  metrics: MetricSummary[];
}

export function toView(run: RunRecord, measurements: MeasurementRecord[]): AnalysisRunDetails {
  return {
    id: run.id,
    rolloutId: run.rolloutId,
    service: run.service,
    canary: run.canary,
    stable: run.stable,
    mode: run.mode,
    step: run.step,
    phase: run.phase,
    reason: run.reason,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    templates: run.templates,
    metrics: run.metrics.map((m) => ({
      name: m.name,
      template: m.template,
      dryRun: m.limits.dryRun,
      provider: m.provider.type,
      ...(run.state[m.name] ?? initialMetricState()),
    })),
    decisions: measurements.filter((x) => x.runId === run.id).map((x) => x.decision),
  };
}

export async function getRunDetails(ex: Executor, runId: string): Promise<AnalysisRunDetails | undefined> {
  const run = await getRun(ex, runId);
  return run ? toView(run, await measurementsOf(ex, [run.id])) : undefined;
}

export async function runsOfRolloutDetails(ex: Executor, rolloutId: string): Promise<AnalysisRunDetails[]> {
  const runs = await runsOfRollout(ex, rolloutId);
  const measurements = await measurementsOf(
    ex,
    runs.map((r) => r.id),
  );
  return runs.map((r) => toView(r, measurements));
}

/** Creates the run and schedules each metric's first measurement, all in the caller's transaction. */
async function start(ctx: DeliveryContext, input: StartAnalysisInput, tx: Executor): Promise<AnalysisRunView> {
  const { core } = ctx;
  const { metrics } = await resolveMetrics(core.resources, input, tx);
  const now = core.clock.now();
  const run: RunRecord = {
    id: newId('anr', now),
    rolloutId: input.rolloutId,
    service: input.service,
    canary: input.canary,
    stable: input.stable,
    mode: input.mode,
    step: input.step ?? null,
    templates: input.templates,
    metrics,
    state: Object.fromEntries(metrics.map((m) => [m.name, initialMetricState()])),
    phase: 'Running',
    reason: null,
    startedAt: now,
    finishedAt: null,
  };
  await insertRun(tx, run);
  for (const m of metrics) {
    const payload: MeasurePayload = { runId: run.id, metric: m.name, seq: 1 };
    await core.jobs.schedule(MEASURE_JOB, payload, { tx, runAt: now + m.initialDelayMs, dedupKey: measureKey(run.id, m.name) });
  }
  await core.events.publish(tx, {
    type: ANALYSIS_STARTED,
    service: run.service,
    subject: `analysis/${run.id}`,
    change: false,
    data: {
      runId: run.id,
      rolloutId: run.rolloutId,
      mode: run.mode,
      step: run.step,
      canary: run.canary,
      stable: run.stable,
      metrics: metrics.map((m) => m.name),
    },
  });
  return toView(run, []);
}

/** Why a finished run ended as it did, in one sentence naming the deciding metric and its evidence. */
export function runReason(run: Pick<RunRecord, 'metrics' | 'state'>, phase: AnalysisPhase): string {
  const counted = run.metrics.filter((m) => !m.limits.dryRun);
  if (phase !== 'Successful') {
    const deciding = counted.find((m) => run.state[m.name]?.phase === phase) ?? counted[0]!;
    return `metric '${deciding.name}' ${phase}: ${run.state[deciding.name]?.message ?? 'no message'}`;
  }
  const list = (counted.length ? counted : run.metrics).map((m) => `${m.name} (${run.state[m.name]?.count ?? 0} measurements)`);
  return `all metrics Successful: ${list.join(', ')}`;
}

/**
 * Ends a run whose phase has become final: metrics still running are terminated (their pending
 * measurement cancelled, each assessed as Argo does for a terminating run), the phase is stored
 * and ANALYSIS_COMPLETED is published in the same transaction.
 */
export async function completeRun(
  ctx: DeliveryContext,
  tx: Executor,
  run: RunRecord,
  phase: Exclude<AnalysisPhase, 'Running'>,
  now: number,
): Promise<string> {
  const state = await terminateMetrics(ctx, tx, run);
  const reason = runReason({ metrics: run.metrics, state }, phase);
  await updateRun(tx, run.id, { state, phase, reason, finishedAt: now, now });
  const data: AnalysisCompleted = { runId: run.id, rolloutId: run.rolloutId, phase, reason };
  await ctx.core.events.publish(tx, { type: ANALYSIS_COMPLETED, service: run.service, subject: `analysis/${run.id}`, change: false, data });
  ctx.logger.info({ run: run.id, rollout: run.rolloutId, service: run.service, phase, reason }, 'analysis run completed');
  return reason;
}

async function terminateMetrics(ctx: DeliveryContext, tx: Executor, run: RunRecord): Promise<Record<string, MetricState>> {
  const state = { ...run.state };
  for (const m of run.metrics) {
    const current = state[m.name] ?? initialMetricState();
    if (current.phase !== 'Running') continue;
    await ctx.core.jobs.cancel(measureKey(run.id, m.name), { tx });
    const assessed = assessMetric(m.limits, current, true);
    state[m.name] = { ...current, phase: assessed.phase, message: assessed.message };
  }
  return state;
}

/**
 * Stops a running analysis: no further measurements. The phase is what the measurements so far
 * say, as for an Argo run terminated early (usually Successful); ANALYSIS_COMPLETED is not
 * published, since the caller asked for the end and must not take it for a verdict.
 */
async function terminate(ctx: DeliveryContext, runId: string, reason: string, tx: Executor): Promise<void> {
  const run = await getRun(tx, runId, ctx.core.database.dialect);
  if (run?.phase !== 'Running') return;
  const now = ctx.core.clock.now();
  const state = await terminateMetrics(ctx, tx, run);
  const phase = runPhase(run.metrics.map((m) => ({ dryRun: m.limits.dryRun, phase: state[m.name]!.phase })));
  const final = phase === 'Running' ? 'Successful' : phase;
  const text = `terminated: ${reason}`;
  await updateRun(tx, run.id, { state, phase: final, reason: text, finishedAt: now, now });
  await ctx.core.events.publish(tx, {
    type: ANALYSIS_TERMINATED,
    service: run.service,
    subject: `analysis/${run.id}`,
    change: false,
    data: { runId: run.id, rolloutId: run.rolloutId, phase: final, reason: text },
  });
}

/** The AnalysisService of the delivery contracts, over the analysis tables and durable jobs. */
export function createAnalysisService(ctx: DeliveryContext): AnalysisService {
  return {
    start: (input, tx) => start(ctx, input, tx),
    terminate: (runId, reason, tx) => terminate(ctx, runId, reason, tx),
    get: (runId) => getRunDetails(ctx.core.db, runId),
    forRollout: (rolloutId) => runsOfRolloutDetails(ctx.core.db, rolloutId),
  };
}
