import type { Generated } from 'kysely';
import type { RolloutPhase } from '../contracts.js';

/**
 * A rollout: one version of a service replacing its stable version by a strategy. Columns are
 * what is filtered or compared; the rest is JSON (`plan`, `state`, `meta`). Times are epoch ms.
 */
export interface DeliveryRolloutsTable {
  id: string;
  service: string;
  version: string;
  stable: string | null;
  strategy: 'canary' | 'blueGreen' | 'rolling';
  /** JSON RolloutPlan: the strategy snapshot taken when the rollout started. */
  plan: string;
  phase: RolloutPhase;
  /** Index of the current step; equals the number of steps once all are done. */
  step: number;
  reason: string | null;
  /** manual | step | inconclusive | freeze, while Paused. */
  pause_reason: string | null;
  deployer: string;
  /** The service while the rollout is active, else null: a unique index keeps one active rollout per service. */
  active_service: string | null;
  /** Set while the rollout waits for instances to become ready; passing it aborts. */
  progress_deadline_at: number | null;
  /** 1 once the runtime is in the final state of a finished rollout (weights, scale-downs). */
  settled: number;
  /** The rollout an undo reverts. */
  rollback_of: string | null;
  /** JSON RolloutState: weights applied, step state, analysis runs, traffic extras, the failing decision. */
  state: string;
  /** JSON RolloutMeta: commit time, release time, pipeline run, freeze override. */
  meta: string;
  /** Bumped by every transition: writers compare-and-set on it. */
  revision: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** Append-only: every transition and decision of a rollout, with its actor and data. */
export interface DeliveryRolloutLogTable {
  seq: Generated<number>;
  rollout_id: string;
  at: number;
  actor: string;
  type: string;
  step: number | null;
  message: string;
  /** JSON. */
  data: string;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    delivery_rollouts: DeliveryRolloutsTable;
    delivery_rollout_log: DeliveryRolloutLogTable;
  }
}
