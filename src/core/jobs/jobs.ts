import type { Executor } from '../db/database.js';

export type JobState = 'pending' | 'running' | 'done' | 'dead' | 'cancelled';

export interface JobRecord {
  id: string;
  kind: string;
  payload: unknown;
  state: JobState;
  runAt: number;
  attempts: number;
  maxAttempts: number;
  dedupKey: string | null;
  lastError: string | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ScheduleOptions {
  /** Epoch ms; defaults to now. */
  runAt?: number;
  /** Alternative to runAt: now + delayMs. */
  delayMs?: number;
  /** At most one pending job per key: scheduling again moves the pending one. `cancel(key)` removes it. */
  dedupKey?: string;
  /** Defaults to the handler's maxAttempts, else 5. */
  maxAttempts?: number;
  /** Schedule inside this transaction so the timer commits with the state change. */
  tx?: Executor;
}

export interface JobContext {
  job: JobRecord;
  /** Aborted when the process is shutting down and the grace period is over. */
  signal: AbortSignal;
}

export interface HandlerOptions {
  maxAttempts?: number;
  /** How long a claimed job stays invisible to other replicas; default 30 s. */
  visibilityTimeoutMs?: number;
}

export type RecurringSchedule = { every: number } | { cron: string; timeZone?: string };

export interface RecurringContext {
  /** Aborted when the process shuts down (after the grace period) or a global task's replica loses leadership. */
  signal: AbortSignal;
  /** The tick this run belongs to (epoch ms). */
  scheduledAt: number;
}

export interface RecurringTask {
  id: string;
  /** `global`: exactly one replica (the leader) runs it. `local`: every worker replica runs its own. */
  scope: 'global' | 'local';
  /** `every` ms from when the task is armed; `cron` in `timeZone` (default UTC). */
  schedule: RecurringSchedule;
  /** A tick that finds the previous run still going is skipped: runs of one task never overlap. */
  run(context: RecurringContext): Promise<void>;
}

export interface JobListFilter {
  state?: JobState;
  kind?: string;
  limit?: number;
}

/** Durable timers and queues; every timer in the product is one of these. */
export interface Jobs {
  handle(kind: string, handler: (ctx: JobContext) => Promise<void>, options?: HandlerOptions): void;
  schedule(kind: string, payload: unknown, options?: ScheduleOptions): Promise<JobRecord>;
  /** Cancels the pending job with this dedup key; returns how many were cancelled. */
  cancel(dedupKey: string, options?: { tx?: Executor }): Promise<number>;
  recurring(task: RecurringTask): void;
  list(filter?: JobListFilter): Promise<JobRecord[]>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Moves a dead job back to pending (operator retry). */
  retry(id: string): Promise<JobRecord | undefined>;
  /** Pending jobs that are due now, and all pending jobs (queue depth metrics). */
  depth(): Promise<{ due: number; pending: number }>;
  /** Starts the runner loop, leader election and recurring tasks (worker role). */
  start(): Promise<void>;
  /** Stops claiming, waits up to graceMs for running handlers, releases unfinished leases. */
  stop(graceMs?: number): Promise<void>;
  /** Claims and runs everything due now, until nothing is due; for tests on a fake clock. */
  runDue(): Promise<number>;
  isLeader(): boolean;
}
