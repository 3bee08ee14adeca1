import type { DesiredFault, FaultKind } from '../../agent/protocol.js';
import { type Actor, systemActor } from '../../core/auth/roles.js';
import { notFound, validationFailed } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { findRelease, type RuntimeContext, type RuntimeTx, requireService, transact } from './context.js';
import { toDesiredFault } from './desired-state.js';
import { ensureSynced } from './releases.js';
import { activeFaults, deleteFaults, type FaultRow, getFault, insertFault, listReleases } from './runtime.store.js';
import { toTenths } from './traffic.js';

/** The durable timer that removes a fault when its TTL runs out, even across restarts. */
export const FAULT_EXPIRY_JOB = 'runtime.fault.expire';
const expiryKey = (id: string) => `runtime.fault:${id}`;

export interface AddFaultInput {
  service: string;
  /** Unset: every version. */
  version?: string;
  kind: FaultKind;
  latencyMs?: number;
  jitterMs?: number;
  status?: number;
  /** Requests affected, percent with 0.1 precision. */
  percent: number;
  ttlMs: number;
  actor: Actor;
}

export type Fault = DesiredFault & { createdAt: number; createdBy: string };

const toFault = (row: FaultRow): Fault => ({ ...toDesiredFault(row), createdAt: Number(row.created_at), createdBy: row.created_by });

type FaultParam = 'latencyMs' | 'jitterMs' | 'status';
/** The parameters each kind takes; the first is required. */
const PARAMS: Record<FaultKind, FaultParam[]> = { latency: ['latencyMs', 'jitterMs'], status: ['status'], abort: [] };

/** Each kind takes its own parameters and no others. */
function faultIssues(input: AddFaultInput): { pointer: string; message: string }[] {
  const issues: { pointer: string; message: string }[] = [];
  const a = input.kind === 'abort' ? 'an' : 'a';
  const needs = PARAMS[input.kind][0];
  const allowed: string[] = PARAMS[input.kind];
  if (needs && input[needs] === undefined) issues.push({ pointer: `/${needs}`, message: `${a} ${input.kind} fault needs '${needs}'` });
  for (const field of ['latencyMs', 'jitterMs', 'status'] as const) {
    if (input[field] !== undefined && !allowed.includes(field)) {
      issues.push({ pointer: `/${field}`, message: `${a} ${input.kind} fault does not take '${field}'` });
    }
  }
  const tenths = toTenths(input.percent);
  if (tenths === undefined || tenths < 1 || tenths > 1000) {
    issues.push({ pointer: '/percent', message: `must be a percentage from 0.1 to 100 in steps of 0.1 (got ${input.percent})` });
  }
  if (!Number.isInteger(input.ttlMs) || input.ttlMs < 1000) issues.push({ pointer: '/ttlSeconds', message: 'must be at least 1 second' });
  return issues;
}

/** Injects a fault into a service's router for `ttlMs`; a durable job removes it at expiry. */
export function addFault(ctx: RuntimeContext, input: AddFaultInput): Promise<Fault> {
  const issues = faultIssues(input);
  if (issues.length) throw validationFailed(issues[0]!.message, issues);
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, input.service);
    if (input.version !== undefined) findRelease(input.service, input.version, await listReleases(rt.tx, input.service));
    const row: FaultRow = {
      id: newId('flt', rt.now),
      service: input.service,
      version: input.version ?? null,
      kind: input.kind,
      percent: toTenths(input.percent)!,
      latency_ms: input.latencyMs ?? null,
      jitter_ms: input.jitterMs ?? null,
      status: input.status ?? null,
      expires_at: rt.now + input.ttlMs,
      created_at: rt.now,
      created_by: input.actor.name,
    };
    await insertFault(rt.tx, row);
    await ctx.core.jobs.schedule(FAULT_EXPIRY_JOB, { id: row.id }, { runAt: row.expires_at, dedupKey: expiryKey(row.id), tx: rt.tx });
    const fault = toFault(row);
    await rt.record({
      actor: input.actor,
      type: 'runtime.fault.added',
      service: input.service,
      subject: `fault/${row.id}`,
      data: { ...fault },
    });
    rt.changed();
    return fault;
  });
}

export async function listFaults(ctx: RuntimeContext, service: string): Promise<Fault[]> {
  await requireService(ctx, service);
  return (await activeFaults(ctx.core.db, ctx.core.clock.now(), service)).map(toFault);
}

/** Removes one fault (404 if it is not active) or all of a service's; returns what was removed. */
export function clearFaults(ctx: RuntimeContext, input: { service: string; id?: string; actor: Actor }): Promise<Fault[]> {
  return transact(ctx, async (rt) => {
    await requireService(ctx, input.service, rt.tx);
    let rows = await activeFaults(rt.tx, rt.now, input.service);
    if (input.id !== undefined) {
      rows = rows.filter((f) => f.id === input.id);
      if (!rows.length) throw notFound(`Service '${input.service}' has no active fault '${input.id}'`, { id: input.id });
    }
    await removeFaults(ctx, rt, rows, 'runtime.fault.cleared', input.actor);
    return rows.map(toFault);
  });
}

async function removeFaults(ctx: RuntimeContext, rt: RuntimeTx, rows: FaultRow[], type: string, actor: Actor | null): Promise<void> {
  if (!rows.length) return;
  await deleteFaults(
    rt.tx,
    rows.map((f) => f.id),
  );
  for (const f of rows) {
    await ctx.core.jobs.cancel(expiryKey(f.id), { tx: rt.tx });
    await rt.record({ actor, type, service: f.service, subject: `fault/${f.id}`, data: { ...toFault(f) } });
  }
  rt.changed();
}

/** Ends a fault; used by the expiry job and when an agent reports it dropped one. No-op if it is gone already. */
export async function expireFault(ctx: RuntimeContext, rt: RuntimeTx, id: string, reportedBy?: string): Promise<void> {
  const row = await getFault(rt.tx, id);
  if (!row) return;
  // The job may run early after a clock jump or a reschedule; an agent's report ends it regardless.
  if (!reportedBy && Number(row.expires_at) > rt.now) return;
  await removeFaults(ctx, rt, [row], 'runtime.fault.expired', reportedBy ? null : systemActor);
}

export function registerFaultExpiry(ctx: RuntimeContext): void {
  ctx.core.jobs.handle(
    FAULT_EXPIRY_JOB,
    async ({ job }) => {
      const { id } = job.payload as { id: string };
      await transact(ctx, (rt) => expireFault(ctx, rt, id));
    },
    { maxAttempts: 10 },
  );
}
