/**
 * The runtime module's tables. Percentages are stored as integer tenths (0..1000) so weights
 * sum exactly; times are UTC epoch milliseconds; JSON columns hold text.
 */

/** One row: the desired-state revision every change bumps. */
export interface RuntimeRevisionTable {
  id: number;
  revision: number;
  updated_at: number;
}

/** What the runtime last saw of a Service's `runtime` section, and its mirror setting. */
export interface RuntimeServicesTable {
  service: string;
  /** `spec.runtime.instances` when last synced: a change of it re-scales the primary version. */
  spec_instances: number | null;
  /** Digest of the runtime section and version annotation: unchanged applies don't bump the revision. */
  runtime_hash: string | null;
  mirror_version: string | null;
  /** Tenths of a percent. */
  mirror_percent: number | null;
  updated_at: number;
}

export type ReleaseState = 'active' | 'retired';

/** A version of a service: a named override of its runtime spec. */
export interface RuntimeReleasesTable {
  service: string;
  version: string;
  /** JSON `{ command?, args?, cwd?, env?, artifact? }`. */
  overrides: string;
  created_at: number;
  created_by: string;
  state: ReleaseState;
  failed_reason: string | null;
  failed_at: number | null;
}

/** What runs where: per version, its traffic weight and instance count. Missing rows mean 0/0. */
export interface RuntimeAssignmentsTable {
  service: string;
  version: string;
  /** Tenths of a percent: the weights of a service sum to 1000 once assigned. */
  weight: number;
  instances: number;
  updated_at: number;
  updated_by: string;
}

export interface RuntimeFaultsTable {
  id: string;
  service: string;
  version: string | null;
  kind: 'latency' | 'status' | 'abort';
  /** Tenths of a percent. */
  percent: number;
  latency_ms: number | null;
  jitter_ms: number | null;
  status: number | null;
  expires_at: number;
  created_at: number;
  created_by: string;
}

/** One-shot agent commands (kill); pending until an agent reports them done or they expire. */
export interface RuntimeActionsTable {
  id: string;
  service: string;
  type: 'kill';
  version: string | null;
  count: number;
  created_at: number;
  created_by: string;
  expires_at: number;
  done_at: number | null;
  done_by: string | null;
}

/** The latest report of each agent. */
export interface RuntimeAgentsTable {
  agent_id: string;
  agent_url: string;
  applied_revision: number;
  /** The agent's own clock at the report. */
  agent_at: number;
  /** Our clock when the report arrived: freshness is judged by this. */
  reported_at: number;
  /** JSON InstanceStatus[]. */
  instances: string;
  /** JSON VersionStatus[]. */
  versions: string;
}

/** Agent event ids already ingested: reports are retried, events must count once. */
export interface RuntimeAgentEventsTable {
  agent_id: string;
  event_id: string;
  received_at: number;
}

/** Router RED deltas per version and reporting interval; kept for a day. */
export interface RuntimeTrafficTable {
  agent_id: string;
  service: string;
  version: string;
  from_ms: number;
  to_ms: number;
  requests: number;
  /** JSON `{ "2xx": n, "5xx": n, "error": n, ... }`. */
  by_class: string;
  /** JSON counts per LATENCY_BUCKETS_MS bound, last = +Inf. */
  buckets: string;
}

declare module '../../core/db/schema.js' {
  interface Schema {
    runtime_revision: RuntimeRevisionTable;
    runtime_services: RuntimeServicesTable;
    runtime_releases: RuntimeReleasesTable;
    runtime_assignments: RuntimeAssignmentsTable;
    runtime_faults: RuntimeFaultsTable;
    runtime_actions: RuntimeActionsTable;
    runtime_agents: RuntimeAgentsTable;
    runtime_agent_events: RuntimeAgentEventsTable;
    runtime_traffic: RuntimeTrafficTable;
  }
}
