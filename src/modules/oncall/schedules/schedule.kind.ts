import type { Executor } from '../../../core/db/database.js';
import type { FieldIssue } from '../../../core/errors.js';
import type { Core } from '../../../core/module.js';
import type { KindDefinition, ResourceRef } from '../../../core/resources/resources.js';
import { WEEKDAYS } from '../escalation/policy.schema.js';
import { gaps, renderSchedule } from './render.js';
import { layerInstant, layerMembers, layerZone, turnStep } from './rotation.js';
import { SCHEDULE_KIND, type ScheduleSpec, ScheduleSpec as Schema } from './schedule.schema.js';
import { loadExtras } from './schedules.store.js';

export const GAP_EVENT = 'oncall.schedule.gap';
const GAP_HORIZON_MS = 14 * 24 * 3600_000;

const minutes = (t: string) => {
  const [h, m] = t.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

function scheduleIssues(spec: ScheduleSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const names = new Set<string>();
  spec.layers.forEach((layer, i) => {
    const at = `/spec/layers/${i}`;
    if (names.has(layer.name)) issues.push({ pointer: `${at}/name`, message: `duplicate layer name '${layer.name}'` });
    names.add(layer.name);
    if (layer.users && layer.groups) issues.push({ pointer: `${at}/groups`, message: 'give users or groups, not both' });
    if (layerMembers(layer).length === 0) issues.push({ pointer: `${at}/users`, message: 'a layer needs at least one user' });
    const step = turnStep(layer.turn);
    if (!step) issues.push({ pointer: `${at}/turn`, message: 'must be a duration of at least 1h, such as 12h, 1d or 1w' });
    else if (layer.handoff.weekday && step.kind !== 'weeks') {
      issues.push({ pointer: `${at}/handoff/weekday`, message: 'a handoff weekday needs a turn of whole weeks (1w, 2w...)' });
    }
    const zone = layerZone(layer, spec.timeZone);
    const start = layerInstant(layer.start, zone);
    if (!start) issues.push({ pointer: `${at}/start`, message: `"${layer.start}" is not a date (YYYY-MM-DD) or an ISO date-time` });
    if (layer.end !== undefined) {
      const end = layerInstant(layer.end, zone);
      if (!end) issues.push({ pointer: `${at}/end`, message: `"${layer.end}" is not a date (YYYY-MM-DD) or an ISO date-time` });
      else if (start && end <= start) issues.push({ pointer: `${at}/end`, message: 'must be after start' });
    }
    if (layer.handoff.time === '24:00')
      issues.push({ pointer: `${at}/handoff/time`, message: "a handoff is at a time of day from '00:00' to '23:59'" });
    (layer.restrictions ?? []).forEach((r, j) => {
      const p = `${at}/restrictions/${j}`;
      if ('daily' in r) {
        if (minutes(r.daily.to) <= minutes(r.daily.from)) {
          issues.push({
            pointer: `${p}/daily/to`,
            message: `ends before it starts (${r.daily.from}); a window over midnight is two windows, e.g. 22:00–24:00 and 00:00–06:00`,
          });
        }
      } else {
        const pos = (w: { weekday: string; time: string }) =>
          WEEKDAYS.indexOf(w.weekday as (typeof WEEKDAYS)[number]) * 1440 + minutes(w.time);
        if (pos(r.weekly.to) <= pos(r.weekly.from)) {
          issues.push({
            pointer: `${p}/weekly/to`,
            message: "ends before it starts (weeks run Monday to Sunday; use sunday 24:00 to end at the week's end)",
          });
        }
      }
    });
  });
  return issues;
}

/** Publishes the gaps in the next `horizonMs` that were not announced before; returns them. */
export async function announceGaps(core: Core, tx: Executor, name: string, spec: ScheduleSpec, now: number, horizonMs = GAP_HORIZON_MS) {
  const found = gaps(renderSchedule(spec, now, now + horizonMs, await loadExtras(tx, name, now, now + horizonMs)).final);
  const fresh = [];
  for (const gap of found) {
    const seen = await tx
      .selectFrom('oncall_schedule_gaps')
      .select('schedule')
      .where('schedule', '=', name)
      .where('starts_at', '=', gap.start)
      .where('ends_at', '=', gap.end)
      .executeTakeFirst();
    if (seen) continue;
    await tx
      .insertInto('oncall_schedule_gaps')
      .values({ schedule: name, starts_at: gap.start, ends_at: gap.end, reported_at: now })
      .execute();
    fresh.push(gap);
  }
  if (fresh.length) {
    core.logger.warn({ module: 'oncall', schedule: name, gaps: fresh.length }, 'schedule has windows with nobody on call');
    await core.events.publish(tx, {
      type: GAP_EVENT,
      subject: `Schedule/${name}`,
      data: { schedule: name, gaps: fresh.slice(0, 50).map((g) => ({ start: g.start, end: g.end })), total: fresh.length },
    });
  }
  return fresh;
}

export function scheduleKind(core: Core): KindDefinition<ScheduleSpec> {
  return {
    kind: SCHEDULE_KIND,
    module: 'oncall',
    description: 'Who is on call when: layers of rotations with handoffs and restrictions, in a time zone.',
    spec: Schema,
    refs(spec) {
      const refs: ResourceRef[] = [];
      for (const [i, layer] of spec.layers.entries()) {
        if (layer.users)
          for (const [j, u] of layer.users.entries()) refs.push({ kind: 'User', name: u, pointer: `/spec/layers/${i}/users/${j}` });
        if (layer.groups) {
          for (const [j, g] of layer.groups.entries())
            for (const [k, u] of g.entries()) refs.push({ kind: 'User', name: u, pointer: `/spec/layers/${i}/groups/${j}/${k}` });
        }
      }
      return refs;
    },
    validate: (doc) => scheduleIssues(doc.spec),
    // Warn at apply time: the resource is valid, but people should know nobody covers some windows.
    onApply: async (tx, doc) => {
      await announceGaps(core, tx, doc.metadata.name, doc.spec, core.clock.now());
    },
    columns: [
      { header: 'TIMEZONE', value: (doc) => doc.spec.timeZone },
      { header: 'LAYERS', value: (doc) => doc.spec.layers.map((l) => l.name).join(',') },
    ],
  };
}
