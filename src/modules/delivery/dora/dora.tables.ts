/**
 * DORA's read model, kept by a durable subscriber from the event stream: one row per rollout with
 * what the metrics need, release creation times (lead-time fallback), incidents (the hook the
 * incidents module feeds), and the ids of events already taken in.
 */
export interface DoraRolloutsTable {
  rollout_id: string;
  service: string;
  version: string;
  started_at: number | null;
  finished_at: number | null;
  /** running | succeeded | aborted */
  outcome: string;
  /** 1 when this rollout was an undo (a restoration, not a deployment). */
  is_undo: number;
  commit_time: number | null;
  /** When its release was created, as the rollout reported it (else dora_releases has it). */
  release_created_at: number | null;
  /** When this rollout was undone (its version rolled back), if it was. */
  undone_at: number | null;
  updated_at: number;
}

export interface DoraReleasesTable {
  service: string;
  version: string;
  created_at: number;
}

export interface DoraIncidentsTable {
  incident_id: string;
  service: string;
  /** The rollout the incident was linked to, when the incident says so. */
  rollout_id: string | null;
  opened_at: number;
  resolved_at: number | null;
}

export interface DoraSeenTable {
  event_id: string;
  at: number;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    dora_rollouts: DoraRolloutsTable;
    dora_releases: DoraReleasesTable;
    dora_incidents: DoraIncidentsTable;
    dora_seen: DoraSeenTable;
  }
}
