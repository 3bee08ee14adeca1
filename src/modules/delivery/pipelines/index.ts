import type { DeliveryContext, RolloutService } from '../contracts.js';
import { failStaleCommands, runCommand } from './command.js';
import { CHECK_JOB, COMMAND_JOB, type PipelinesContext, TEARDOWN_JOB, TICK_JOB, WATCHDOG_TASK } from './context.js';
import { pipelineKind } from './pipelines.kind.js';
import { pipelinesRoutes } from './pipelines.routes.js';
import { runStagingChecks, teardownStaging } from './staging.js';
import { rolloutSubscriber, tick } from './ticks.js';

export { INTERRUPTED } from './context.js';
export type { RunView, StageView } from './engine.js';
export { pipelinesMigrations } from './pipelines.migrations.js';
export type { PipelineSpec, StageSpec } from './pipelines.schema.js';
export { STAGING_LABEL, stagingName } from './staging.js';

/** Longest a run stage may take (timeoutSeconds ≤ 6 h) plus slack: the command job's lease. */
const COMMAND_LEASE_MS = 21_600_000 + 300_000;
/** Smoke checks plus a load test of at most 10 minutes. */
const CHECK_LEASE_MS = 20 * 60_000;
const WATCHDOG_EVERY_MS = 30_000;

/**
 * Release pipelines: the `Pipeline` kind, durable runs (stage transitions are jobs; a `run`
 * command cut short by a restart is failed, never re-run; waiting stages resume), per-stage logs,
 * and the /api/v1 routes for runs. The production stage starts a rollout through `deps.rollouts`
 * and waits for its ROLLOUT_SUCCEEDED / ROLLOUT_ABORTED event.
 */
export function setupPipelines(ctx: DeliveryContext, deps: { rollouts: RolloutService }): void {
  const p: PipelinesContext = { delivery: ctx, rollouts: deps.rollouts, running: new Map(), serverCwd: process.cwd() };
  const { jobs, resources, events } = ctx.core;
  resources.register(pipelineKind);
  jobs.handle(TICK_JOB, async ({ job }) => tick(p, (job.payload as { runId: string }).runId));
  jobs.handle(
    COMMAND_JOB,
    async ({ job, signal }) => {
      const { runId, idx } = job.payload as { runId: string; idx: number };
      await runCommand(p, runId, idx, signal);
    },
    { visibilityTimeoutMs: COMMAND_LEASE_MS, maxAttempts: 3 },
  );
  jobs.handle(
    CHECK_JOB,
    async ({ job, signal }) => {
      const { runId, idx } = job.payload as { runId: string; idx: number };
      await runStagingChecks(p, runId, idx, signal);
    },
    { visibilityTimeoutMs: CHECK_LEASE_MS, maxAttempts: 3 },
  );
  jobs.handle(TEARDOWN_JOB, async ({ job }) => teardownStaging(p, (job.payload as { service: string }).service));
  jobs.recurring({ id: WATCHDOG_TASK, scope: 'global', schedule: { every: WATCHDOG_EVERY_MS }, run: () => failStaleCommands(p) });
  events.subscribe(rolloutSubscriber(p));
  for (const route of pipelinesRoutes(p)) ctx.route(route);
}
