import type { AgentAction, DesiredFault, DesiredService, DesiredState, DesiredVersion } from '../../agent/protocol.js';
import type { Executor } from '../../core/db/database.js';
import type { RuntimeContext } from './context.js';
import {
  activeFaults,
  type FaultRow,
  getRevision,
  listAssignments,
  listReleases,
  listServiceStates,
  pendingActions,
} from './runtime.store.js';
import { healthCheckSpec, processSpec, routingSpec, runtimeOf, shutdownSpec } from './spec.js';

export function toDesiredFault(f: FaultRow): DesiredFault {
  return {
    id: f.id,
    service: f.service,
    ...(f.version === null ? {} : { version: f.version }),
    kind: f.kind,
    percent: f.percent / 10,
    ...(f.latency_ms === null ? {} : { latencyMs: f.latency_ms }),
    ...(f.jitter_ms === null ? {} : { jitterMs: f.jitter_ms }),
    ...(f.status === null ? {} : { status: f.status }),
    expiresAt: Number(f.expires_at),
  };
}

/** The desired state read in one snapshot (repeatable read on PostgreSQL), so its parts agree. */
export function snapshotDesiredState(ctx: RuntimeContext): Promise<DesiredState> {
  const tx = ctx.core.db.transaction();
  return (ctx.core.database.dialect === 'postgres' ? tx.setIsolationLevel('repeatable read') : tx).execute((t) =>
    buildDesiredState(ctx, t),
  );
}

/**
 * What the agents should run: every Service with a runtime section and the versions that have
 * traffic or instances, with the faults in force and the actions not yet done. The revision is
 * read first, so the content is never older than the revision it is labelled with.
 */
export async function buildDesiredState(ctx: RuntimeContext, ex: Executor = ctx.core.db): Promise<DesiredState> {
  const now = ctx.core.clock.now();
  const revision = await getRevision(ex);
  const [docs, releases, assignments, states, faults, actions] = [
    await ctx.catalog.listServices(undefined, ex),
    await listReleases(ex),
    await listAssignments(ex),
    await listServiceStates(ex),
    await activeFaults(ex, now),
    await pendingActions(ex, now),
  ];
  const services: DesiredService[] = [];
  for (const doc of docs) {
    const service = runtimeOf(doc);
    if (!service) continue;
    const { name, runtime } = service;
    const versions: DesiredVersion[] = [];
    for (const a of assignments) {
      if (a.service !== name || (a.weight === 0 && a.instances === 0)) continue;
      const release = releases.find((r) => r.service === name && r.version === a.version);
      if (!release) continue;
      versions.push({
        version: a.version,
        weight: a.weight / 10,
        instances: a.instances,
        process: processSpec(runtime, release.overrides, ctx.cwd),
      });
    }
    // Between an apply and the subscriber's sync a service has no versions yet; the sync bumps the revision.
    if (versions.length === 0) continue;
    const state = states.find((s) => s.service === name);
    const mirror =
      state?.mirror_version && versions.some((v) => v.version === state.mirror_version)
        ? { version: state.mirror_version, percent: (state.mirror_percent ?? 0) / 10 }
        : undefined;
    services.push({
      name,
      port: runtime.port,
      healthCheck: healthCheckSpec(runtime),
      shutdown: shutdownSpec(runtime),
      routing: routingSpec(runtime, mirror),
      versions,
    });
  }
  const running = new Set(services.map((s) => s.name));
  return {
    revision,
    generatedAt: now,
    services,
    faults: faults.filter((f) => running.has(f.service)).map(toDesiredFault),
    actions: actions
      .filter((a) => running.has(a.service))
      .map(
        (a): AgentAction => ({
          id: a.id,
          type: a.type,
          service: a.service,
          ...(a.version === null ? {} : { version: a.version }),
          count: a.count,
        }),
      ),
  };
}
