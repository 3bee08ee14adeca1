import { type AgentEvent, type AgentReport, LATENCY_BUCKETS_MS } from '../../agent/protocol.js';
import type { Actor } from '../../core/auth/roles.js';
import { type FieldIssue, validationFailed } from '../../core/errors.js';
import { firstSighting, insertTraffic, putAgent } from './agents.store.js';
import { type RuntimeContext, type RuntimeTx, transact } from './context.js';
import { expireFault } from './faults.js';
import { getRevision, markActionsDone, markReleaseFailed } from './runtime.store.js';

/** Checks the schema cannot express; pointers into the report. */
export function reportIssues(report: AgentReport): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const want = LATENCY_BUCKETS_MS.length + 1;
  report.traffic.forEach((t, i) => {
    if (t.latencyBuckets.length !== want) {
      issues.push({
        pointer: `/traffic/${i}/latencyBuckets`,
        message: `must have ${want} counts (one per LATENCY_BUCKETS_MS bound, then +Inf), got ${t.latencyBuckets.length}`,
      });
    }
    if (t.to < t.from) issues.push({ pointer: `/traffic/${i}/to`, message: 'must not be before from' });
  });
  if (!URL.canParse(report.agentUrl) || !/^https?:$/.test(new URL(report.agentUrl).protocol)) {
    issues.push({ pointer: '/agentUrl', message: 'must be an http(s) URL' });
  }
  return issues;
}

function subjectOf(e: AgentEvent): string {
  if (e.instance) return `instance/${e.instance}`;
  if (e.version) return `${e.service}@${e.version}`;
  return `Service/${e.service}`;
}

/** What a version.failed event gives as its reason: `data.reason`, else the event's data as text. */
function reasonOf(e: AgentEvent): string {
  const reason = e.data?.reason;
  if (typeof reason === 'string' && reason) return reason.slice(0, 4000);
  return e.data ? JSON.stringify(e.data).slice(0, 4000) : 'reported failed by the agent';
}

async function ingestEvent(ctx: RuntimeContext, rt: RuntimeTx, agentId: string, e: AgentEvent): Promise<void> {
  if (!(await firstSighting(rt.tx, agentId, e.id, rt.now))) return;
  if (e.type === 'fault.expired') {
    // Published as runtime.fault.expired by expireFault, once, whoever notices first.
    const id = e.data?.fault ?? e.data?.id;
    if (typeof id === 'string') await expireFault(ctx, rt, id, agentId);
    return;
  }
  if (e.type === 'version.failed' && e.version) {
    await markReleaseFailed(rt.tx, { service: e.service, version: e.version }, reasonOf(e), e.at);
  }
  await rt.record({
    actor: null,
    type: `runtime.${e.type}`,
    service: e.service,
    subject: subjectOf(e),
    data: {
      agentId,
      eventId: e.id,
      at: e.at,
      ...(e.version ? { version: e.version } : {}),
      ...(e.instance ? { instance: e.instance } : {}),
      ...(e.data ? { details: e.data } : {}),
    },
    audit: false,
  });
}

/**
 * Takes in an agent's report in one transaction: its latest status, its events (each id once:
 * reports are retried), its traffic deltas (each interval once) and the actions it executed.
 */
export async function ingestReport(ctx: RuntimeContext, report: AgentReport, actor: Actor): Promise<{ ok: true; revision: number }> {
  const issues = reportIssues(report);
  if (issues.length) throw validationFailed(`the report has ${issues.length} problem(s): ${issues[0]!.message}`, issues);
  await transact(ctx, async (rt) => {
    await putAgent(rt.tx, {
      agentId: report.agentId,
      agentUrl: report.agentUrl,
      appliedRevision: report.appliedRevision,
      agentAt: report.at,
      reportedAt: rt.now,
      instances: report.instances,
      versions: report.versions,
    });
    if ((await markActionsDone(rt.tx, report.actionsDone, report.agentId, rt.now)) > 0) rt.changed();
    for (const e of report.events) await ingestEvent(ctx, rt, report.agentId, e);
    await insertTraffic(rt.tx, report.agentId, report.traffic);
  });
  ctx.logger.debug({ agent: report.agentId, by: actor.name, events: report.events.length }, 'agent report');
  // Read after commit: the report itself may have bumped it (actions done, a fault ended).
  return { ok: true, revision: await getRevision(ctx.core.db) };
}
