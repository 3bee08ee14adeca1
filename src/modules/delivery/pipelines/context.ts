import type { Executor } from '../../../core/db/database.js';
import type { DeliveryContext, RolloutService } from '../contracts.js';
import { appendLogs, type RunRow } from './pipelines.store.js';

/** What the pipeline engine shares between routes, jobs and subscribers. */
export interface PipelinesContext {
  delivery: DeliveryContext;
  rollouts: RolloutService;
  /** Commands running in this process, by `runId:idx`: cancelling a run kills its command here at once. */
  running: Map<string, () => void>;
  /** Where relative artifact and cwd paths resolve (the server's directory, as the runtime does). */
  serverCwd: string;
}

export const TICK_JOB = 'delivery.pipeline-tick';
export const COMMAND_JOB = 'delivery.pipeline-command';
export const CHECK_JOB = 'delivery.pipeline-staging-check';
export const TEARDOWN_JOB = 'delivery.pipeline-staging-teardown';
export const WATCHDOG_TASK = 'delivery.pipeline-watchdog';

/** What a `run` stage that a restart cut short is marked with; its command is never started twice. */
export const INTERRUPTED = 'interrupted by a restart; not re-run';

export const runKey = (runId: string, idx: number) => `${runId}:${idx}`;

/** Schedules the run's next look: at most one pending per run, moved when scheduled again. */
export function scheduleTick(p: PipelinesContext, runId: string, options: { tx?: Executor; runAt?: number } = {}): Promise<unknown> {
  return p.delivery.core.jobs.schedule(
    TICK_JOB,
    { runId },
    { dedupKey: `${TICK_JOB}:${runId}`, runAt: options.runAt ?? p.delivery.core.clock.now(), tx: options.tx },
  );
}

/** Publishes `delivery.pipeline.<what>` for a run: on the change timeline, with its service. */
export function emit(
  p: PipelinesContext,
  tx: Executor,
  run: Pick<RunRow, 'id' | 'service' | 'version'>,
  what: string,
  data: Record<string, unknown>,
  actor?: string,
) {
  return p.delivery.core.events.publish(tx, {
    type: `delivery.pipeline.${what}`,
    actor: actor ?? 'system',
    service: run.service,
    subject: run.id,
    change: true,
    data: { runId: run.id, version: run.version, ...data },
  });
}

/** A line opsdeck itself adds to a stage's log (stream `system`). */
export function systemLog(p: PipelinesContext, ex: Executor, runId: string, idx: number, line: string): Promise<void> {
  return appendLogs(ex, [{ run_id: runId, idx, at: p.delivery.core.clock.now(), stream: 'system', line }]);
}
