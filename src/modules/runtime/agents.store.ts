import type { Selectable } from 'kysely';
import type { InstanceStatus, VersionStatus, VersionTraffic } from '../../agent/protocol.js';
import type { Executor } from '../../core/db/database.js';
import type { RuntimeTrafficTable } from './runtime.tables.js';

// SQL for what agents report: their latest status, the event ids already ingested, traffic deltas.

export interface AgentRecord {
  agentId: string;
  agentUrl: string;
  appliedRevision: number;
  agentAt: number;
  reportedAt: number;
  instances: InstanceStatus[];
  versions: VersionStatus[];
}

export async function putAgent(ex: Executor, agent: AgentRecord): Promise<void> {
  const values = {
    agent_url: agent.agentUrl,
    applied_revision: agent.appliedRevision,
    agent_at: agent.agentAt,
    reported_at: agent.reportedAt,
    instances: JSON.stringify(agent.instances),
    versions: JSON.stringify(agent.versions),
  };
  await ex
    .insertInto('runtime_agents')
    .values({ agent_id: agent.agentId, ...values })
    .onConflict((oc) => oc.column('agent_id').doUpdateSet(values))
    .execute();
}

/** Agents that reported at or after `since`, most recent first. */
export async function listAgents(ex: Executor, since = 0): Promise<AgentRecord[]> {
  const rows = await ex
    .selectFrom('runtime_agents')
    .selectAll()
    .where('reported_at', '>=', since)
    .orderBy('reported_at', 'desc')
    .orderBy('agent_id')
    .execute();
  return rows.map((r) => ({
    agentId: r.agent_id,
    agentUrl: r.agent_url,
    appliedRevision: Number(r.applied_revision),
    agentAt: Number(r.agent_at),
    reportedAt: Number(r.reported_at),
    instances: JSON.parse(r.instances) as InstanceStatus[],
    versions: JSON.parse(r.versions) as VersionStatus[],
  }));
}

/** Records an agent event id; false when it was seen before (a retried report). */
export async function firstSighting(ex: Executor, agentId: string, eventId: string, now: number): Promise<boolean> {
  const result = await ex
    .insertInto('runtime_agent_events')
    .values({ agent_id: agentId, event_id: eventId, received_at: now })
    .onConflict((oc) => oc.columns(['agent_id', 'event_id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Stores traffic deltas; an interval already stored (a retried report) is kept once. */
export async function insertTraffic(ex: Executor, agentId: string, traffic: VersionTraffic[]): Promise<void> {
  // Chunked: SQLite caps bound parameters per statement.
  for (let i = 0; i < traffic.length; i += 100) {
    const rows = traffic.slice(i, i + 100).map((t) => ({
      agent_id: agentId,
      service: t.service,
      version: t.version,
      from_ms: t.from,
      to_ms: t.to,
      requests: t.requests,
      by_class: JSON.stringify(t.byClass),
      buckets: JSON.stringify(t.latencyBuckets),
    }));
    await ex
      .insertInto('runtime_traffic')
      .values(rows)
      .onConflict((oc) => oc.columns(['agent_id', 'service', 'version', 'from_ms']).doNothing())
      .execute();
  }
}

/** Traffic of a service whose interval ends after `since`. */
export async function trafficSince(ex: Executor, service: string, since: number): Promise<VersionTraffic[]> {
  const rows = await ex
    .selectFrom('runtime_traffic')
    .selectAll()
    .where('service', '=', service)
    .where('to_ms', '>', since)
    .orderBy('from_ms')
    .execute();
  return rows.map(toTraffic);
}

function toTraffic(r: Selectable<RuntimeTrafficTable>): VersionTraffic {
  return {
    service: r.service,
    version: r.version,
    from: Number(r.from_ms),
    to: Number(r.to_ms),
    requests: Number(r.requests),
    byClass: JSON.parse(r.by_class) as Record<string, number>,
    latencyBuckets: JSON.parse(r.buckets) as number[],
  };
}

/** Traffic of a service whose interval ends in (`from`, `to`]: consecutive windows count each interval once. */
export async function trafficBetween(ex: Executor, service: string, from: number, to: number): Promise<VersionTraffic[]> {
  const rows = await ex
    .selectFrom('runtime_traffic')
    .selectAll()
    .where('service', '=', service)
    .where('to_ms', '>', from)
    .where('to_ms', '<=', to)
    .orderBy('from_ms')
    .execute();
  return rows.map(toTraffic);
}

/** Retention: traffic, seen event ids and silent agents older than `before`. */
export async function pruneReports(ex: Executor, before: number): Promise<void> {
  await ex.deleteFrom('runtime_traffic').where('to_ms', '<', before).execute();
  await ex.deleteFrom('runtime_agent_events').where('received_at', '<', before).execute();
  await ex.deleteFrom('runtime_agents').where('reported_at', '<', before).execute();
}
