import type { InstanceState, VersionHealth } from '../../agent/protocol.js';
import type { Executor } from '../../core/db/database.js';
import { listAgents } from './agents.store.js';
import { type RuntimeContext, runtimeService } from './context.js';
import { getServiceState, listAssignments, listReleases } from './runtime.store.js';
import type { ReleaseState } from './runtime.tables.js';

// Read models over releases, assignments and the agents' latest reports.

/** An agent that has not reported for this long is considered gone (its status stale, its logs unreachable). */
export const AGENT_FRESH_MS = 30_000;

export interface VersionView {
  version: string;
  /** Percent of traffic. */
  weight: number;
  /** Percent of requests mirrored to it, if any. */
  mirrorPercent?: number;
  desiredInstances: number;
  /** Ready instances as fresh agents report them. */
  readyInstances: number;
  /** The agents' verdict; `unknown` while none reported on it, `idle` when it should run nothing. */
  health: VersionHealth | 'unknown' | 'idle';
  reason?: string;
  state: ReleaseState;
  failedReason: string | null;
  createdAt: number;
  createdBy: string;
}

export interface InstanceView {
  id: string;
  agentId: string;
  version: string;
  pid: number | null;
  port: number;
  state: InstanceState;
  restarts: number;
  startedAt: number;
  readyAt: number | null;
  /** Since start, while it runs; null once stopped or crashed. */
  uptimeMs: number | null;
  lastExit: { code: number | null; signal: string | null; at: number } | null;
  /** Its agent has not reported within AGENT_FRESH_MS. */
  stale: boolean;
}

const SEVERITY: Record<VersionHealth, number> = { healthy: 0, progressing: 1, 'crash-loop': 2, failed: 3 };
const RUNNING: InstanceState[] = ['starting', 'ready', 'unready', 'draining'];

/** Every release of a service with its weight, instance counts and health; 404/409 as runtimeService. */
export async function listVersions(ctx: RuntimeContext, service: string, ex: Executor = ctx.core.db): Promise<VersionView[]> {
  await runtimeService(ctx, service, ex);
  const now = ctx.core.clock.now();
  const [releases, assignments, state, agents] = [
    await listReleases(ex, service),
    await listAssignments(ex, service),
    await getServiceState(ex, service),
    await listAgents(ex, now - AGENT_FRESH_MS),
  ];
  return releases.map((r) => {
    const a = assignments.find((x) => x.version === r.version);
    const statuses = agents.flatMap((g) => g.versions).filter((v) => v.service === service && v.version === r.version);
    const desired = a?.instances ?? 0;
    const worst = statuses.reduce<(typeof statuses)[number] | undefined>(
      (w, s) => (!w || SEVERITY[s.health] > SEVERITY[w.health] ? s : w),
      undefined,
    );
    const health = worst?.health ?? (desired > 0 || (a?.weight ?? 0) > 0 ? 'unknown' : 'idle');
    return {
      version: r.version,
      weight: (a?.weight ?? 0) / 10,
      ...(state?.mirror_version === r.version ? { mirrorPercent: (state.mirror_percent ?? 0) / 10 } : {}),
      desiredInstances: desired,
      readyInstances: statuses.reduce((n, s) => n + s.ready, 0),
      health,
      ...(worst?.reason ? { reason: worst.reason } : {}),
      state: r.state,
      failedReason: r.failedReason,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
    };
  });
}

/** The instances of a service as every agent last reported them, by version then id. */
export async function listInstances(ctx: RuntimeContext, service: string): Promise<InstanceView[]> {
  await runtimeService(ctx, service);
  const now = ctx.core.clock.now();
  const out: InstanceView[] = [];
  for (const agent of await listAgents(ctx.core.db)) {
    const stale = now - agent.reportedAt > AGENT_FRESH_MS;
    for (const i of agent.instances) {
      if (i.service !== service) continue;
      out.push({
        id: i.id,
        agentId: agent.agentId,
        version: i.version,
        pid: i.pid,
        port: i.port,
        state: i.state,
        restarts: i.restarts,
        startedAt: i.startedAt,
        readyAt: i.readyAt,
        uptimeMs: RUNNING.includes(i.state) ? Math.max(0, now - i.startedAt) : null,
        lastExit: i.lastExit,
        stale,
      });
    }
  }
  return out.sort((a, b) => a.version.localeCompare(b.version) || a.id.localeCompare(b.id, undefined, { numeric: true }));
}
