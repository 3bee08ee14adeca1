import type { AgentAction, DesiredState } from '../../agent/protocol.js';
import type { Actor } from '../../core/auth/roles.js';
import type { Executor } from '../../core/db/database.js';
import { type KillInput, killInstances } from './actions.js';
import { pruneReports } from './agents.store.js';
import type { RuntimeContext } from './context.js';
import { snapshotDesiredState } from './desired-state.js';
import { type AddFaultInput, addFault, clearFaults, type Fault, listFaults } from './faults.js';
import { type CreateReleaseInput, createRelease, listServiceReleases, retireRelease } from './releases.js';
import { pruneActions, type Release } from './runtime.store.js';
import { type ServiceStats, serviceStats, TRAFFIC_RETENTION_MS, type TrafficTotal, trafficWindow } from './stats.js';
import { type Mirror, type ScaleInput, scale, setMirror, setWeights } from './traffic.js';
import { type InstanceView, listInstances, listVersions, type VersionView } from './views.js';

/**
 * What other modules (delivery, chaos, capacity) may ask of the runtime. Every mutation is one
 * transaction: audited, published on the change timeline, and a new desired-state revision.
 */
export interface RuntimeApi {
  createRelease(input: CreateReleaseInput): Promise<Release>;
  listReleases(service: string): Promise<Release[]>;
  /** Only a release with no traffic and no instances may be retired. */
  retireRelease(input: { service: string; version: string; actor: Actor }): Promise<Release>;
  /** Replaces the split: percent per version (0.1 precision, sum 100); versions not named get 0. */
  setWeights(service: string, weights: Record<string, number>, actor: Actor): Promise<VersionView[]>;
  scale(input: ScaleInput): Promise<VersionView[]>;
  setMirror(service: string, mirror: Mirror | null, actor: Actor): Promise<Mirror | null>;
  listVersions(service: string, tx?: Executor): Promise<VersionView[]>;
  instances(service: string): Promise<InstanceView[]>;
  stats(service: string, windowMs: number): Promise<ServiceStats>;
  /** Per-version sums of the traffic intervals ending in (`from`, `to`] (canary analysis); 404 for an unknown service. */
  traffic(service: string, window: { from: number; to: number }): Promise<TrafficTotal[]>;
  addFault(input: AddFaultInput): Promise<Fault>;
  listFaults(service: string): Promise<Fault[]>;
  /** All of a service's faults, or the one with `id`; returns what was removed. */
  clearFaults(input: { service: string; id?: string; actor: Actor }): Promise<Fault[]>;
  killInstances(input: KillInput): Promise<AgentAction>;
  desiredState(): Promise<DesiredState>;
}

export function createRuntimeApi(ctx: RuntimeContext): RuntimeApi {
  return {
    createRelease: (input) => createRelease(ctx, input),
    listReleases: (service) => listServiceReleases(ctx, service),
    retireRelease: (input) => retireRelease(ctx, input),
    setWeights: (service, weights, actor) => setWeights(ctx, service, weights, actor),
    scale: (input) => scale(ctx, input),
    setMirror: (service, mirror, actor) => setMirror(ctx, service, mirror, actor),
    listVersions: (service, tx) => listVersions(ctx, service, tx),
    instances: (service) => listInstances(ctx, service),
    stats: (service, windowMs) => serviceStats(ctx, service, windowMs),
    traffic: (service, window) => trafficWindow(ctx, service, window),
    addFault: (input) => addFault(ctx, input),
    listFaults: (service) => listFaults(ctx, service),
    clearFaults: (input) => clearFaults(ctx, input),
    killInstances: (input) => killInstances(ctx, input),
    desiredState: () => snapshotDesiredState(ctx),
  };
}

/** Retention: traffic, seen agent event ids, silent agents and finished actions older than a day. */
export async function pruneRuntime(ctx: RuntimeContext): Promise<void> {
  const before = ctx.core.clock.now() - TRAFFIC_RETENTION_MS;
  await pruneReports(ctx.core.db, before);
  await pruneActions(ctx.core.db, before);
}
