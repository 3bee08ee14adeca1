import type { Executor } from '../../../core/db/database.js';
import { transaction } from '../../../core/db/database.js';
import type { Core } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { AlertingGroupsTable } from '../alerting.tables.js';
import { whatChanged } from '../groups/changes.js';
import { matchersPredicate } from '../silences/matchers.js';
import { activeSilences } from '../silences/silences.js';
import { matchersOf, routeFor } from './route.js';
import { ALERT_ROUTING_KIND, type AlertRoutingSpec, MAINTENANCE_KIND, type MaintenanceWindowSpec, ROUTING_NAME } from './routing.schema.js';

export const JOB_NOTIFY = 'alerting.group.notify';
/** What the on-call module (and webhooks) consume: one per notification Alertmanager would send. */
export const NOTIFY_EVENT = 'alerting.group.notify';
export const SUPPRESSED_EVENT = 'alerting.group.suppressed';

const notifyKey = (groupId: string) => `notify:${groupId}`;

async function routing(core: Core, tx: Executor): Promise<AlertRoutingSpec | undefined> {
  return (await core.resources.get<AlertRoutingSpec>(ALERT_ROUTING_KIND, ROUTING_NAME, tx))?.spec;
}

function routeLabels(
  group: Pick<AlertingGroupsTable, 'group_labels' | 'service'>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...extra, ...JSON.parse(group.group_labels), ...(group.service ? { service: group.service } : {}) };
}

/**
 * Arms the group's next notification in the caller's transaction, Alertmanager's timing: the
 * first after group_wait from opening, a change (new alert, resolution) at the next
 * group_interval after the last notification. A group resolved before it ever notified says nothing.
 */
export async function scheduleNotify(
  core: Core,
  tx: Executor,
  input: {
    group: Pick<AlertingGroupsTable, 'id' | 'opened_at' | 'group_labels' | 'service'>;
    reason: 'opened' | 'changed' | 'resolved';
    labels?: Record<string, string>;
    now: number;
  },
): Promise<void> {
  const { group, now } = input;
  const route = routeFor((await routing(core, tx))?.route, routeLabels(group, input.labels));
  const row = await tx.selectFrom('alerting_group_notify').selectAll().where('group_id', '=', group.id).executeTakeFirst();
  if (!row) {
    if (input.reason === 'resolved') return;
    await tx
      .insertInto('alerting_group_notify')
      .values({
        group_id: group.id,
        receiver: route.receiver,
        last_notified_at: null,
        last_firing: '[]',
        last_status: null,
        notifications: 0,
        suppressed: 0,
      })
      .execute();
    await core.jobs.schedule(
      JOB_NOTIFY,
      { groupId: group.id },
      { tx, runAt: Number(group.opened_at) + route.groupWaitMs, dedupKey: notifyKey(group.id) },
    );
    return;
  }
  if (row.last_notified_at === null) {
    if (input.reason === 'resolved') await core.jobs.cancel(notifyKey(group.id), { tx });
    return; // the group_wait timer is armed already
  }
  const runAt = Math.max(now, Number(row.last_notified_at) + route.groupIntervalMs);
  await core.jobs.schedule(JOB_NOTIFY, { groupId: group.id }, { tx, runAt, dedupKey: notifyKey(group.id) });
}

/** Why none of the firing alerts should notify anyone now, or undefined when some should. */
async function suppression(
  core: Core,
  tx: Executor,
  group: AlertingGroupsTable,
  firing: Array<{ labels: Record<string, string> }>,
  spec: AlertRoutingSpec | undefined,
  now: number,
): Promise<string | undefined> {
  for (const w of await core.resources.list<MaintenanceWindowSpec>(MAINTENANCE_KIND, undefined, tx)) {
    const covers = w.spec.services.includes('*') || (group.service !== null && w.spec.services.includes(group.service));
    if (covers && Date.parse(w.spec.start) <= now && now < Date.parse(w.spec.end)) return `maintenance window ${w.metadata.name}`;
  }
  const silences = await activeSilences(tx, now);
  const rules = (spec?.inhibitRules ?? []).map((r) => ({
    source: matchersPredicate(matchersOf(r.sourceMatchers)),
    target: matchersPredicate(matchersOf(r.targetMatchers)),
    equal: r.equal ?? [],
  }));
  let sources: Array<Record<string, string>> = [];
  if (rules.length) {
    const rows = await tx
      .selectFrom('alerting_group_alerts')
      .innerJoin('alerting_groups', 'alerting_groups.id', 'alerting_group_alerts.group_id')
      .select(['alerting_group_alerts.labels', 'alerting_groups.service'])
      .where('alerting_groups.status', '!=', 'resolved')
      .where('alerting_group_alerts.status', '=', 'firing')
      .execute();
    sources = rows.map((r) => ({ ...(r.service ? { service: r.service } : {}), ...JSON.parse(r.labels) }));
  }
  const reasons = new Set<string>();
  for (const alert of firing) {
    const labels: Record<string, string> = { ...(group.service ? { service: group.service } : {}), ...alert.labels };
    const silence = silences.find((s) => s.matches(labels));
    if (silence) {
      reasons.add(`silence ${silence.id}`);
      continue;
    }
    const inhibited = rules.some(
      (r) =>
        r.target(labels) &&
        sources.some((src) => r.source(src) && !r.target(src) && r.equal.every((n) => (src[n] ?? '') === (labels[n] ?? ''))),
    );
    if (inhibited) {
      reasons.add('inhibited');
      continue;
    }
    return undefined;
  }
  return [...reasons].join(', ') || undefined;
}

/**
 * The notification tick of one group: says what it has to say (first notification, a change,
 * a repeat after repeat_interval while firing and not acknowledged, the resolution) unless every
 * firing alert is silenced, inhibited or under maintenance, and re-arms itself every group_interval.
 */
export async function runNotify(core: Core, catalog: CatalogApi, groupId: string): Promise<void> {
  const now = core.clock.now();
  // Read before the transaction: the change timeline is read through its own connection, which
  // on SQLite (one connection) must not happen inside a transaction.
  const before = await core.db.selectFrom('alerting_groups').select(['service', 'opened_at']).where('id', '=', groupId).executeTakeFirst();
  if (!before) return;
  const changes = await whatChanged(core, catalog, { service: before.service, openedAt: Number(before.opened_at), until: now });
  await transaction(core.db, async (tx) => {
    const group = await tx.selectFrom('alerting_groups').selectAll().where('id', '=', groupId).executeTakeFirst();
    const row = await tx.selectFrom('alerting_group_notify').selectAll().where('group_id', '=', groupId).executeTakeFirst();
    if (!group || !row) return;
    const spec = await routing(core, tx);
    const alerts = await tx.selectFrom('alerting_group_alerts').selectAll().where('group_id', '=', groupId).execute();
    const firing = alerts
      .filter((a) => a.status === 'firing')
      .map((a) => ({ fingerprint: a.fingerprint, labels: JSON.parse(a.labels) as Record<string, string> }));
    const route = routeFor(spec?.route, routeLabels(group, alerts[0] ? (JSON.parse(alerts[0].labels) as Record<string, string>) : {}));
    // A resolution goes to whoever was told about the group.
    const receiver = group.status === 'resolved' && row.last_notified_at !== null ? row.receiver : route.receiver;
    const base = {
      id: group.id,
      title: group.title,
      service: group.service,
      receiver,
      source: group.source,
      integration: group.integration,
    };
    const publish = async (status: 'firing' | 'resolved', why: string) => {
      await core.events.publish(tx, {
        type: NOTIFY_EVENT,
        service: group.service,
        subject: group.id,
        data: { ...base, status, why, firing: firing.length, alerts: alerts.length, changes: changes.slice(0, 20) },
      });
    };

    if (group.status === 'resolved') {
      if (row.last_notified_at !== null && row.last_status !== 'resolved') {
        await publish('resolved', 'resolved');
        await tx
          .updateTable('alerting_group_notify')
          .set({ last_notified_at: now, last_status: 'resolved', notifications: row.notifications + 1 })
          .where('group_id', '=', groupId)
          .execute();
      }
      return;
    }
    const next = () =>
      core.jobs.schedule(JOB_NOTIFY, { groupId }, { tx, runAt: now + route.groupIntervalMs, dedupKey: notifyKey(groupId) });
    const suppressed = await suppression(core, tx, group, firing, spec, now);
    if (suppressed) {
      await tx
        .updateTable('alerting_group_notify')
        .set({ suppressed: row.suppressed + 1 })
        .where('group_id', '=', groupId)
        .execute();
      if (row.suppressed === 0)
        await core.events.publish(tx, {
          type: SUPPRESSED_EVENT,
          service: group.service,
          subject: group.id,
          data: { ...base, why: suppressed },
        });
      await next();
      return;
    }
    const firingNow = JSON.stringify(firing.map((f) => f.fingerprint).sort());
    const why =
      row.last_notified_at === null
        ? 'opened'
        : firingNow !== row.last_firing
          ? 'changed'
          : group.status === 'open' && now - Number(row.last_notified_at) >= route.repeatIntervalMs
            ? 'repeat'
            : undefined;
    if (why) {
      await publish('firing', why);
      await tx
        .updateTable('alerting_group_notify')
        .set({
          receiver: route.receiver,
          last_notified_at: now,
          last_firing: firingNow,
          last_status: 'firing',
          notifications: row.notifications + 1,
        })
        .where('group_id', '=', groupId)
        .execute();
    }
    await next();
  });
}
