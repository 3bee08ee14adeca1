import type { Executor } from '../../../core/db/database.js';
import { newId } from '../../../core/ids.js';
import type { Core } from '../../../core/module.js';
import type { AlertingGroupsTable, GroupSource } from '../alerting.tables.js';
import { scheduleNotify } from '../notify/notify.js';

export const GROUP_EVENTS = {
  opened: 'alerting.group.opened',
  updated: 'alerting.group.updated',
  acknowledged: 'alerting.group.acknowledged',
  resolved: 'alerting.group.resolved',
} as const;

/** One alert as an intake understood it. */
export interface IncomingAlert {
  /** Identity within its group: Alertmanager's fingerprint, a label hash, a dedup key. */
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  /** When it stops being firing unless received again (Prometheus' endsAt); null: until resolved. */
  endsAt: number | null;
}

/** A batch of alerts for one group, from one intake call. */
export interface IncomingGroup {
  source: GroupSource;
  integration: string | null;
  /** Unique within the integration (or source): Alertmanager's groupKey, a dedup key, grouped labels. */
  key: string;
  service: string | null;
  title: string;
  groupLabels: Record<string, string>;
  alerts: IncomingAlert[];
  /** PagerDuty's acknowledge applies to the whole group. */
  acknowledge?: { by: string };
}

export interface IngestOutcome {
  groupId: string | null;
  opened: boolean;
  /** Alerts received again while already firing. */
  repeats: number;
  resolved: boolean;
}

/**
 * Folds alerts into groups, deduplicating by fingerprint: a firing alert received again only
 * counts a repeat; a resolved one resolves just that alert; the group resolves when every alert
 * in it has. Alerts for a key with no open group open a new one (a resolved group stays history).
 * Runs in the caller's transaction with the group events.
 */
export async function ingestGroup(core: Core, tx: Executor, incoming: IncomingGroup, now: number): Promise<IngestOutcome> {
  const groupKey = `${incoming.integration ?? incoming.source}:${incoming.key}`;
  let group = await tx
    .selectFrom('alerting_groups')
    .selectAll()
    .where('group_key', '=', groupKey)
    .where('status', '!=', 'resolved')
    .executeTakeFirst();
  const outcome: IngestOutcome = { groupId: group?.id ?? null, opened: false, repeats: 0, resolved: false };
  const anyFiring = incoming.alerts.some((a) => a.status === 'firing');
  if (!group) {
    // A resolve or acknowledge for something not open is accepted and ignored, as PagerDuty does.
    if (!anyFiring) return outcome;
    group = {
      id: newId('alg'),
      group_key: groupKey,
      source: incoming.source,
      integration: incoming.integration,
      service: incoming.service,
      title: incoming.title.slice(0, 1024),
      group_labels: JSON.stringify(incoming.groupLabels),
      status: 'open',
      opened_at: now,
      updated_at: now,
      acknowledged_at: null,
      acknowledged_by: null,
      resolved_at: null,
      resolved_by: null,
      events: 0,
    } satisfies AlertingGroupsTable;
    await tx.insertInto('alerting_groups').values(group).execute();
    outcome.groupId = group.id;
    outcome.opened = true;
  }
  const groupId = group.id;

  const existing = new Map(
    (await tx.selectFrom('alerting_group_alerts').selectAll().where('group_id', '=', groupId).execute()).map((a) => [a.fingerprint, a]),
  );
  let newlyFiring = 0;
  let newlyResolved = 0;
  /** Alerts received again unchanged: one statement counts them all (the common, dedup case). */
  const unchanged: string[] = [];
  for (const a of incoming.alerts) {
    const prev = existing.get(a.fingerprint);
    const labels = JSON.stringify(a.labels);
    const annotations = JSON.stringify(a.annotations);
    if (
      prev &&
      prev.status === a.status &&
      prev.labels === labels &&
      prev.annotations === annotations &&
      (prev.ends_at === null ? null : Number(prev.ends_at)) === a.endsAt &&
      !unchanged.includes(a.fingerprint)
    ) {
      if (a.status === 'firing') outcome.repeats++;
      unchanged.push(a.fingerprint);
      existing.set(a.fingerprint, { ...prev, updated_at: now, received: prev.received + 1 });
      continue;
    }
    const row = {
      status: a.status,
      labels,
      annotations,
      starts_at: prev && prev.status === 'firing' ? prev.starts_at : a.startsAt,
      ends_at: a.endsAt,
      updated_at: now,
      received: (prev?.received ?? 0) + 1,
    };
    if (prev) {
      if (prev.status === 'firing' && a.status === 'firing') outcome.repeats++;
      if (prev.status !== 'firing' && a.status === 'firing') newlyFiring++;
      if (prev.status === 'firing' && a.status === 'resolved') newlyResolved++;
      await tx
        .updateTable('alerting_group_alerts')
        .set(row)
        .where('group_id', '=', groupId)
        .where('fingerprint', '=', a.fingerprint)
        .execute();
    } else {
      if (a.status === 'firing') newlyFiring++;
      await tx
        .insertInto('alerting_group_alerts')
        .values({ group_id: groupId, fingerprint: a.fingerprint, ...row })
        .execute();
    }
    existing.set(a.fingerprint, { group_id: groupId, fingerprint: a.fingerprint, ...row });
  }

  if (unchanged.length) {
    await tx
      .updateTable('alerting_group_alerts')
      .set((eb) => ({ received: eb('received', '+', 1), updated_at: now }))
      .where('group_id', '=', groupId)
      .where('fingerprint', 'in', unchanged)
      .execute();
  }

  const stillFiring = [...existing.values()].some((a) => a.status === 'firing');
  const patch: Partial<AlertingGroupsTable> = { updated_at: now, events: group.events + incoming.alerts.length };
  if (!stillFiring) Object.assign(patch, { status: 'resolved', resolved_at: now, resolved_by: incoming.integration ?? incoming.source });
  else if (incoming.acknowledge && group.status === 'open') {
    Object.assign(patch, { status: 'acknowledged', acknowledged_at: now, acknowledged_by: incoming.acknowledge.by });
  }
  await tx.updateTable('alerting_groups').set(patch).where('id', '=', groupId).execute();

  const data = { id: groupId, key: groupKey, title: group.title, source: group.source, integration: group.integration };
  const publish = (type: string) => core.events.publish(tx, { type, service: group.service, subject: groupId, data });
  if (outcome.opened) await publish(GROUP_EVENTS.opened);
  else if (newlyFiring > 0) await publish(GROUP_EVENTS.updated);
  if (patch.status === 'acknowledged') await publish(GROUP_EVENTS.acknowledged);
  if (patch.status === 'resolved') {
    outcome.resolved = true;
    await publish(GROUP_EVENTS.resolved);
  }
  const reason = outcome.opened ? 'opened' : outcome.resolved ? 'resolved' : newlyFiring + newlyResolved > 0 ? 'changed' : undefined;
  if (reason) await scheduleNotify(core, tx, { group, reason, labels: incoming.alerts[0]?.labels ?? {}, now });
  return outcome;
}

/** A person acknowledges or resolves a group by hand (resolving marks its alerts resolved too). */
export async function actOnGroup(
  core: Core,
  tx: Executor,
  input: { id: string; action: 'acknowledge' | 'resolve'; by: string; now: number },
): Promise<AlertingGroupsTable | undefined> {
  const group = await tx.selectFrom('alerting_groups').selectAll().where('id', '=', input.id).executeTakeFirst();
  if (!group || group.status === 'resolved') return group;
  if (input.action === 'acknowledge') {
    if (group.status === 'acknowledged') return group;
    const patch = { status: 'acknowledged' as const, acknowledged_at: input.now, acknowledged_by: input.by, updated_at: input.now };
    await tx.updateTable('alerting_groups').set(patch).where('id', '=', group.id).execute();
    await core.events.publish(tx, {
      type: GROUP_EVENTS.acknowledged,
      service: group.service,
      subject: group.id,
      actor: input.by,
      data: { id: group.id },
    });
    return { ...group, ...patch };
  }
  const patch = { status: 'resolved' as const, resolved_at: input.now, resolved_by: input.by, updated_at: input.now };
  await tx.updateTable('alerting_groups').set(patch).where('id', '=', group.id).execute();
  await tx
    .updateTable('alerting_group_alerts')
    .set({ status: 'resolved', updated_at: input.now })
    .where('group_id', '=', group.id)
    .where('status', '=', 'firing')
    .execute();
  await core.events.publish(tx, {
    type: GROUP_EVENTS.resolved,
    service: group.service,
    subject: group.id,
    actor: input.by,
    data: { id: group.id },
  });
  await scheduleNotify(core, tx, { group, reason: 'resolved', now: input.now });
  return { ...group, ...patch };
}

/**
 * An alert whose endsAt passed without being sent again is resolved (Prometheus stopped sending
 * it); the group resolves with its last firing alert. A renewed alert (new endsAt) is left alone.
 */
export async function expireAlert(
  core: Core,
  tx: Executor,
  input: { groupId: string; fingerprint: string; endsAt: number; now: number },
): Promise<void> {
  const alert = await tx
    .selectFrom('alerting_group_alerts')
    .selectAll()
    .where('group_id', '=', input.groupId)
    .where('fingerprint', '=', input.fingerprint)
    .executeTakeFirst();
  if (alert?.status !== 'firing' || Number(alert.ends_at) !== input.endsAt) return;
  await tx
    .updateTable('alerting_group_alerts')
    .set({ status: 'resolved', updated_at: input.now })
    .where('group_id', '=', input.groupId)
    .where('fingerprint', '=', input.fingerprint)
    .execute();
  const firing = await tx
    .selectFrom('alerting_group_alerts')
    .select('fingerprint')
    .where('group_id', '=', input.groupId)
    .where('status', '=', 'firing')
    .executeTakeFirst();
  const group = await tx.selectFrom('alerting_groups').selectAll().where('id', '=', input.groupId).executeTakeFirst();
  if (!group || group.status === 'resolved') return;
  if (firing) {
    await scheduleNotify(core, tx, { group, reason: 'changed', now: input.now });
    return;
  }
  await tx
    .updateTable('alerting_groups')
    .set({ status: 'resolved', resolved_at: input.now, resolved_by: 'expired', updated_at: input.now })
    .where('id', '=', group.id)
    .execute();
  await core.events.publish(tx, {
    type: GROUP_EVENTS.resolved,
    service: group.service,
    subject: group.id,
    data: { id: group.id, expired: true },
  });
  await scheduleNotify(core, tx, { group, reason: 'resolved', now: input.now });
}
