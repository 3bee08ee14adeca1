import type { JobState } from './jobs.js';

/** One durable timer / queued job. Timestamps are epoch ms (bigint columns). */
export interface JobsTable {
  /** `job_…`, time-sortable. */
  id: string;
  kind: string;
  /** JSON text. */
  payload: string;
  state: JobState;
  run_at: number;
  /** Claims so far, including the one in progress. */
  attempts: number;
  max_attempts: number;
  /** Unique among pending jobs (partial unique index). */
  dedup_key: string | null;
  last_error: string | null;
  /** The replica holding (or, once done, that last held) the lease. */
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

/** SQLite leader election: one row per elected role, taken over once `expires_at` has passed. */
export interface LeaderLeasesTable {
  name: string;
  owner: string;
  expires_at: number;
}

declare module '../db/schema.js' {
  interface Schema {
    jobs: JobsTable;
    leader_leases: LeaderLeasesTable;
  }
}
