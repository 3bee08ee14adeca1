import { DateTime } from 'luxon';
import { parseDuration } from '../../../core/resources/formats.js';
import { WEEKDAYS } from '../escalation/policy.schema.js';
import type { Layer, Restriction } from './schedule.schema.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** A stretch of one layer with the same people on call. */
export interface Shift {
  start: number;
  end: number;
  users: string[];
}

/** How a turn advances: calendar weeks or days (wall clock kept across DST), wall-clock hours, or elapsed time. */
type Step = { kind: 'weeks'; n: number } | { kind: 'days'; n: number } | { kind: 'day-hours'; n: number } | { kind: 'elapsed'; ms: number };

export function turnStep(turn: string): Step | undefined {
  const ms = parseDuration(turn);
  if (!ms || ms < HOUR) return undefined;
  if (ms % WEEK === 0) return { kind: 'weeks', n: ms / WEEK };
  if (ms % DAY === 0) return { kind: 'days', n: ms / DAY };
  if (ms % HOUR === 0 && DAY % ms === 0) return { kind: 'day-hours', n: ms / HOUR };
  return { kind: 'elapsed', ms };
}

const clock = (t: string) => {
  const [h, m] = t.split(':').map(Number) as [number, number];
  return { h, m };
};

/** Wall-clock `time` on `day` in its zone; `24:00` is the next midnight. Luxon moves a time DST skips forward. */
export function atClock(day: DateTime, time: string): DateTime {
  const { h, m } = clock(time);
  const base = day.startOf('day');
  return h === 24
    ? base.plus({ days: 1 })
    : DateTime.fromObject({ year: base.year, month: base.month, day: base.day, hour: h, minute: m }, { zone: base.zone });
}

/** Parses `start`/`end`: a date (midnight) or a date-time, in the layer's zone; undefined when unreadable. */
export function layerInstant(text: string, zone: string): DateTime | undefined {
  const dt = DateTime.fromISO(text, { zone, setZone: false });
  return dt.isValid ? dt.setZone(zone) : undefined;
}

export const layerZone = (layer: Layer, scheduleZone: string) => layer.timeZone ?? scheduleZone;
export const layerMembers = (layer: Layer): string[][] => layer.groups ?? (layer.users ?? []).map((u) => [u]);

/**
 * The k-th handoff of a layer (k = 0 is the first at or after `start`). Whole days and weeks
 * are calendar arithmetic in the zone, so a Monday 09:00 handoff stays at 09:00 across DST.
 */
function handoffs(layer: Layer, zone: string): ((k: number) => number) | undefined {
  const step = turnStep(layer.turn);
  const start = layerInstant(layer.start, zone);
  if (!step || !start) return undefined;
  let first = atClock(start, layer.handoff.time);
  if (step.kind === 'weeks' && layer.handoff.weekday) {
    const want = WEEKDAYS.indexOf(layer.handoff.weekday) + 1;
    first = atClock(start.plus({ days: (want - start.weekday + 7) % 7 }), layer.handoff.time);
    if (first < start) first = atClock(first.plus({ weeks: 1 }), layer.handoff.time);
  } else if (step.kind === 'day-hours') {
    // Boundaries at the handoff time and every n hours after it, wall clock, each day.
    const perDay = 24 / step.n;
    const slot = (day: DateTime, i: number) => {
      const { h, m } = clock(layer.handoff.time);
      const hour = h + i * step.n;
      const d = day.plus({ days: Math.floor(hour / 24) });
      return DateTime.fromObject({ year: d.year, month: d.month, day: d.day, hour: hour % 24, minute: m }, { zone });
    };
    const day0 = start.startOf('day').minus({ days: 1 });
    let k0 = 0;
    while (slot(day0, k0) < start) k0++;
    return (k) => {
      const i = k + k0;
      return slot(day0.plus({ days: Math.floor(i / perDay) }), ((i % perDay) + perDay) % perDay).toMillis();
    };
  } else {
    while (first < start) first = step.kind === 'elapsed' ? first.plus({ milliseconds: step.ms }) : first.plus({ days: 1 });
  }
  const anchor = first;
  if (step.kind === 'weeks') return (k) => atClock(anchor.plus({ weeks: k * step.n }), layer.handoff.time).toMillis();
  if (step.kind === 'days') return (k) => atClock(anchor.plus({ days: k * step.n }), layer.handoff.time).toMillis();
  const ms = step.kind === 'elapsed' ? step.ms : 0;
  return (k) => anchor.toMillis() + k * ms;
}

/** The windows a layer is restricted to, over [from, to), merged and ordered; undefined = always. */
export function restrictionWindows(
  restrictions: Restriction[] | undefined,
  zone: string,
  from: number,
  to: number,
): [number, number][] | undefined {
  if (!restrictions?.length) return undefined;
  const windows: [number, number][] = [];
  const first = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 7 });
  const lastMs = to + WEEK;
  for (let day = first; day.toMillis() < lastMs; day = day.plus({ days: 1 })) {
    for (const r of restrictions) {
      if ('daily' in r) {
        windows.push([atClock(day, r.daily.from).toMillis(), atClock(day, r.daily.to).toMillis()]);
      } else if (day.weekday === 1) {
        const a = atClock(day.plus({ days: WEEKDAYS.indexOf(r.weekly.from.weekday) }), r.weekly.from.time);
        const b = atClock(day.plus({ days: WEEKDAYS.indexOf(r.weekly.to.weekday) }), r.weekly.to.time);
        windows.push([a.toMillis(), b.toMillis()]);
      }
    }
  }
  return mergeWindows(windows.filter(([a, b]) => b > from && a < to && b > a).map(([a, b]) => [Math.max(a, from), Math.min(b, to)]));
}

export function mergeWindows(windows: [number, number][]): [number, number][] {
  const sorted = [...windows].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const w of sorted) {
    const last = out.at(-1);
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else out.push([w[0], w[1]]);
  }
  return out;
}

/** One layer's shifts over [from, to): the rotation, cut to its restriction windows and its end. */
export function layerShifts(layer: Layer, scheduleZone: string, from: number, to: number): Shift[] {
  const zone = layerZone(layer, scheduleZone);
  const members = layerMembers(layer);
  const at = handoffs(layer, zone);
  if (!at || members.length === 0 || from >= to) return [];
  const endLimit = layer.end ? (layerInstant(layer.end, zone)?.toMillis() ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
  const step = turnStep(layer.turn)!;
  const approx =
    step.kind === 'weeks' ? step.n * WEEK : step.kind === 'days' ? step.n * DAY : step.kind === 'day-hours' ? step.n * HOUR : step.ms;
  let k = Math.max(0, Math.floor((from - at(0)) / approx) - 2);
  while (k > 0 && at(k) > from) k--;
  const rotation: Shift[] = [];
  for (; at(k) < Math.min(to, endLimit); k++) {
    const start = Math.max(at(k), from);
    const end = Math.min(at(k + 1), to, endLimit);
    if (end > start) rotation.push({ start, end, users: members[k % members.length]! });
  }
  const windows = restrictionWindows(layer.restrictions, zone, from, to);
  if (!windows) return rotation;
  const cut: Shift[] = [];
  for (const s of rotation) {
    for (const [a, b] of windows) {
      const start = Math.max(s.start, a);
      const end = Math.min(s.end, b);
      if (end > start) cut.push({ start, end, users: s.users });
    }
  }
  return cut;
}
