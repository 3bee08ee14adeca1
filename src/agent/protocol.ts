/**
 * The contract between the control plane (modules/runtime) and the data plane (the agent).
 * The control plane decides and publishes a DesiredState; the agent converges, caches the last
 * one on disk, and reports AgentReports back. Both sides import only this file from each other.
 */

/** How an instance is started; a version is a named override of the service's runtime spec. */
export interface ProcessSpec {
  command: string;
  args: string[];
  /** Absolute working directory (the control plane resolves relative paths). */
  cwd: string;
  env: Record<string, string>;
}

export interface HealthCheckSpec {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures that make a ready instance unready and, if it stays so, restarted (liveness). */
  failureThreshold: number;
}

export interface ShutdownSpec {
  signal: 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP';
  gracePeriodMs: number;
}

export interface RoutingSpec {
  /** Keep a user on one version while weights change: hash of this header or cookie. */
  stickiness?: { header?: string; cookie?: string };
  /** Per-request upstream timeout. */
  timeoutMs: number;
  /** Shadow traffic: copy this percentage of requests to a version and discard its responses. */
  mirror?: { version: string; percent: number };
  /** Outlier ejection: an instance with N consecutive 5xx/connection errors is ejected for a back-off period. */
  outlier: { consecutiveFailures: number; baseEjectionMs: number; maxEjectionPercent: number };
}

export interface DesiredVersion {
  version: string;
  /** Traffic share in percent with 0.1 precision; the weights of a service sum to 100. */
  weight: number;
  instances: number;
  process: ProcessSpec;
}

export interface DesiredService {
  name: string;
  /** The public port the router listens on. */
  port: number;
  /** Interface the router binds; default 127.0.0.1. */
  host?: string;
  healthCheck: HealthCheckSpec;
  shutdown: ShutdownSpec;
  routing: RoutingSpec;
  versions: DesiredVersion[];
}

export type FaultKind = 'latency' | 'status' | 'abort';

export interface DesiredFault {
  id: string;
  service: string;
  /** Unset: every version of the service. */
  version?: string;
  kind: FaultKind;
  /** Requests affected, percent (0.1 precision). */
  percent: number;
  latencyMs?: number;
  jitterMs?: number;
  status?: number;
  /** Epoch ms; the agent drops the fault then even if the control plane is unreachable. */
  expiresAt: number;
}

/** One-shot commands, executed once per id (the agent remembers executed ids in its cache). */
export interface AgentAction {
  id: string;
  type: 'kill';
  service: string;
  version?: string;
  count: number;
}

export interface DesiredState {
  /** Increases with every change; the agent applies only newer revisions. */
  revision: number;
  generatedAt: number;
  services: DesiredService[];
  faults: DesiredFault[];
  actions: AgentAction[];
}

export type InstanceState = 'starting' | 'ready' | 'unready' | 'draining' | 'stopped' | 'crashed' | 'backoff';

export interface InstanceStatus {
  id: string;
  service: string;
  version: string;
  pid: number | null;
  port: number;
  state: InstanceState;
  restarts: number;
  startedAt: number;
  readyAt: number | null;
  lastExit: { code: number | null; signal: string | null; at: number } | null;
}

export type VersionHealth = 'progressing' | 'healthy' | 'crash-loop' | 'failed';

export interface VersionStatus {
  service: string;
  version: string;
  health: VersionHealth;
  ready: number;
  desired: number;
  /** Why it is failed or crash-looping, with the instance's last output. */
  reason?: string;
}

export type AgentEventType =
  | 'instance.started'
  | 'instance.ready'
  | 'instance.crashed'
  | 'instance.restarted'
  | 'instance.killed'
  | 'instance.ejected'
  | 'instance.stopped'
  | 'version.crash-loop'
  | 'version.failed'
  | 'fault.expired'
  | 'router.failed';

export interface AgentEvent {
  /** Unique per agent; the control plane ignores ids it has seen (reports are retried). */
  id: string;
  type: AgentEventType;
  at: number;
  service: string;
  version?: string;
  instance?: string;
  data?: Record<string, unknown>;
}

/** Router RED metrics for one version over one reporting interval (deltas, not totals). */
export interface VersionTraffic {
  service: string;
  version: string;
  from: number;
  to: number;
  requests: number;
  /** By status class: 2xx, 3xx, 4xx, 5xx, and `error` for connection failures/timeouts. */
  byClass: Record<string, number>;
  /** Latency histogram: counts per upper bound in ms (LATENCY_BUCKETS_MS), last = +Inf. */
  latencyBuckets: number[];
}

/** Upper bounds (ms) fine enough for p99 at millisecond resolution under a second. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000,
  5000, 10000, 30000,
];

export interface AgentReport {
  agentId: string;
  /** Where the agent's own API (logs, metrics) listens, e.g. http://127.0.0.1:7071. */
  agentUrl: string;
  /** The desired-state revision the agent has applied. */
  appliedRevision: number;
  at: number;
  instances: InstanceStatus[];
  versions: VersionStatus[];
  events: AgentEvent[];
  traffic: VersionTraffic[];
  /** Action ids executed since the last acknowledged report. */
  actionsDone: string[];
}
