import type { Generated } from 'kysely';

export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StageState = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

/** One pipeline run: a version of a service going through a snapshot of its Pipeline's stages. */
export interface PipelineRunsTable {
  id: string;
  service: string;
  pipeline: string;
  version: string;
  commit_time: number | null;
  state: RunState;
  /** Index of the stage in progress (or the last one reached). */
  current: number;
  reason: string | null;
  /** JSON of the actor who started the run (kind, name, role): the rollout is started on their behalf. */
  actor: string;
  /** JSON `{reason}` when the starter overrode a freeze for the production stage. */
  override_freeze: string | null;
  created_at: number;
  finished_at: number | null;
}

/** One stage of a run; `spec` is the stage as the Pipeline said when the run started. */
export interface PipelineStagesTable {
  run_id: string;
  idx: number;
  name: string;
  type: string;
  spec: string;
  state: StageState;
  /** Staging: deploy → ready → check → teardown. */
  phase: string | null;
  reason: string | null;
  started_at: number | null;
  finished_at: number | null;
  /** Run stages: set when the command was spawned; a job finding it set was interrupted. */
  command_started_at: number | null;
  heartbeat_at: number | null;
  pid: number | null;
  exit_code: number | null;
  /** Approval deadline, staging readiness deadline. */
  deadline_at: number | null;
  rollout_id: string | null;
  approved_by: string | null;
  /** JSON: smoke and load-test results, the outcome staging recorded before teardown. */
  details: string | null;
}

/** Captured output of stages, and notes opsdeck adds (stream 'system'). */
export interface PipelineLogsTable {
  seq: Generated<number>;
  run_id: string;
  idx: number;
  at: number;
  stream: string;
  line: string;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    pipeline_runs: PipelineRunsTable;
    pipeline_stages: PipelineStagesTable;
    pipeline_logs: PipelineLogsTable;
  }
}
