import type { Executor } from '../../../core/db/database.js';
import type { DomainEvent, Subscriber } from '../../../core/events/events.js';
import {
  getRollout,
  latestUndoable,
  markSeen,
  putIncident,
  putRelease,
  putRollout,
  type RolloutRow,
  resolveIncident,
} from './dora.store.js';

// Keeps DORA's read model from the event stream, durable and idempotent by event id:
//
// - `delivery.rollout.*` (data: rolloutId, service, version, startedAt?, finishedAt?, commitTime?,
//   releaseCreatedAt?, reason?, and for undo: undo: true and/or undoOf: <rolloutId>): `succeeded` and `aborted` end a
//   rollout; `undone`/`rolled-back`, or a succeeded rollout flagged as an undo, mark the deployment
//   it rolled back as failed at that moment;
// - `runtime.release.created`: when each version was created (lead time when no commit time);
// - the incidents hook, `incidents.incident.declared|opened|created` (data: incidentId or id,
//   service, rolloutId?, openedAt?) and `incidents.incident.resolved` (data: incidentId or id,
//   resolvedAt?): an incident within 24 h after a deployment of its service (or linked to it by
//   rolloutId) makes that deployment a failed change; its resolution is the time to restore.

export const DORA_TOPICS = ['delivery.rollout.*', 'runtime.release.created', 'incidents.incident.*'];

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
const time = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : undefined;

const UNDO_VERBS = new Set(['undone', 'undo', 'rolled-back', 'rolledback', 'rollback']);
const OPEN_VERBS = new Set(['declared', 'opened', 'created']);

async function markUndone(tx: Executor, target: RolloutRow, at: number): Promise<void> {
  if (target.undone_at !== null) return;
  await putRollout(tx, { ...target, undone_at: at, updated_at: at });
}

async function onRollout(tx: Executor, event: DomainEvent, verb: string, data: Record<string, unknown>): Promise<void> {
  const id = str(data.rolloutId) ?? str(data.id) ?? str(event.subject);
  const service = event.service ?? str(data.service);
  if (!id || !service) return;
  const at = time(data.finishedAt) ?? event.at;
  const undoOf = str(data.undoOf) ?? str(data.undoneRolloutId) ?? str(data.rolledBack);
  const existing = await getRollout(tx, id);

  if (UNDO_VERBS.has(verb)) {
    // An undo of a service: the rollout it names (or this event's rollout, if that is a deployment) failed.
    const named = undoOf
      ? await getRollout(tx, undoOf)
      : existing && existing.is_undo === 0 && existing.outcome === 'succeeded'
        ? existing
        : undefined;
    const target = named ?? (await latestUndoable(tx, service, at, id));
    if (target) await markUndone(tx, target, at);
    return;
  }

  const isUndo = data.undo === true || undoOf !== undefined || existing?.is_undo === 1;
  const row: RolloutRow = {
    rollout_id: id,
    service,
    version: str(data.version) ?? existing?.version ?? '',
    started_at: time(data.startedAt) ?? existing?.started_at ?? (verb === 'started' ? event.at : null),
    finished_at: existing?.finished_at ?? null,
    outcome: existing?.outcome ?? 'running',
    is_undo: isUndo ? 1 : 0,
    commit_time: time(data.commitTime) ?? existing?.commit_time ?? null,
    release_created_at: time(data.releaseCreatedAt) ?? existing?.release_created_at ?? null,
    undone_at: existing?.undone_at ?? null,
    updated_at: event.at,
  };
  if (verb === 'succeeded' || verb === 'aborted') {
    row.outcome = verb;
    row.finished_at = at;
  }
  await putRollout(tx, row);
  if (verb === 'succeeded' && isUndo) {
    const target = (undoOf ? await getRollout(tx, undoOf) : undefined) ?? (await latestUndoable(tx, service, at, id));
    if (target) await markUndone(tx, target, at);
  }
}

async function onIncident(tx: Executor, event: DomainEvent, verb: string, data: Record<string, unknown>): Promise<void> {
  const id = str(data.incidentId) ?? str(data.id) ?? str(event.subject);
  if (!id) return;
  if (OPEN_VERBS.has(verb)) {
    const service = event.service ?? str(data.service);
    if (!service) return;
    await putIncident(tx, {
      incidentId: id,
      service,
      rolloutId: str(data.rolloutId) ?? null,
      openedAt: time(data.openedAt) ?? event.at,
      resolvedAt: null,
    });
  } else if (verb === 'resolved') {
    await resolveIncident(tx, id, time(data.resolvedAt) ?? event.at);
  }
}

export function doraSubscriber(): Subscriber {
  return {
    id: 'delivery.dora',
    types: DORA_TOPICS,
    async handle(event, tx) {
      if (!(await markSeen(tx, event.id, event.at))) return;
      const data = (event.data ?? {}) as Record<string, unknown>;
      if (event.type === 'runtime.release.created') {
        const version = str(data.version);
        if (event.service && version) await putRelease(tx, event.service, version, event.at);
      } else if (event.type.startsWith('delivery.rollout.')) {
        await onRollout(tx, event, event.type.slice('delivery.rollout.'.length), data);
      } else if (event.type.startsWith('incidents.incident.')) {
        await onIncident(tx, event, event.type.slice('incidents.incident.'.length), data);
      }
    },
  };
}
