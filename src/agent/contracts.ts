import type { Registry } from 'prom-client';
import type { AgentEvent, DesiredFault, DesiredService, InstanceStatus, VersionStatus, VersionTraffic } from './protocol.js';

/** A ready instance the router may send traffic to. */
export interface Endpoint {
  /** Instance id, e.g. `feed-1.2.0-3`. */
  id: string;
  host: string;
  port: number;
}

/** Events go to the control plane in the next report; ids are unique per agent. */
export type EmitEvent = (event: Omit<AgentEvent, 'id' | 'at'> & { at?: number }) => void;

export interface LogLine {
  /** Monotonic per agent, for --follow cursors. */
  seq: number;
  at: number;
  service: string;
  version: string;
  instance: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface LogQuery {
  service: string;
  version?: string;
  instance?: string;
  since?: number;
  afterSeq?: number;
  limit?: number;
}

/** Runs the service instances: spawn, health checks, restarts, drains, logs. */
export interface Supervisor {
  /** Converges the fleet to these services (versions, instance counts, process specs). */
  apply(services: DesiredService[]): Promise<void>;
  /** Terminates `count` instances (SIGKILL, as chaos does); they are replaced like crashed ones. */
  kill(service: string, count: number, version?: string): Promise<string[]>;
  instances(): InstanceStatus[];
  versions(): VersionStatus[];
  /** Ready instances per version of a service. */
  endpoints(service: string): Map<string, Endpoint[]>;
  /** Called whenever the set of ready endpoints of a service changes. */
  onEndpointsChanged(listener: (service: string) => void): void;
  /**
   * Called before an instance is stopped (scale-down, version removal): the router stops sending
   * it new requests and resolves once its in-flight requests finished (or the grace ran out).
   */
  setDrainHook(hook: (service: string, instanceId: string, graceMs: number) => Promise<void>): void;
  logs(query: LogQuery): LogLine[];
  /** Live log lines; returns an unsubscribe function. */
  followLogs(query: LogQuery, listener: (line: LogLine) => void): () => void;
  /** Stops every instance gracefully (drain, signal, SIGKILL after grace). */
  stop(): Promise<void>;
  /** Exits without stopping instances, leaving pid files so the next agent adopts them. */
  detach(): Promise<void>;
}

/** One reverse proxy per service on its public port. */
export interface Router {
  /** Creates, reconfigures or removes service proxies; config changes drop no requests. */
  apply(services: DesiredService[]): Promise<void>;
  setEndpoints(service: string, endpoints: Map<string, Endpoint[]>): void;
  setFaults(faults: DesiredFault[]): void;
  drain(service: string, instanceId: string, graceMs: number): Promise<void>;
  /** RED deltas per version since the previous call. */
  takeTraffic(): VersionTraffic[];
  metrics: Registry;
  close(): Promise<void>;
}

export type { AgentEvent, DesiredService, InstanceStatus, VersionStatus };
