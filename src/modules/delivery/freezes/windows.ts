import { Cron } from 'croner';
import { DateTime } from 'luxon';
import { parseDuration } from '../../../core/resources/formats.js';

// Freeze windows: when a Freeze resource is in force. Recurring windows are read on the wall clock
// of their time zone (luxon), so "Fridays 14:00–23:59 Europe/Dublin" means that local time on
// both sides of a DST change. Pure functions of (window, instant); no clock, no I/O.

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface AbsoluteWindow {
  /** ISO-8601 instant with an offset; the window is [start, end). */
  start: string;
  end: string;
}

export interface RecurringSpec {
  /** Days the window starts on (with `from`/`to`). */
  days?: Weekday[];
  /** Local `HH:MM`: the first minute inside the window. */
  from?: string;
  /** Local `HH:MM`: the last minute inside the window (`23:59` covers the rest of the day). Before `from`: overnight. */
  to?: string;
  /** Alternative to days/from/to: the window starts at each time this cron pattern fires and lasts `duration`. */
  cron?: string;
  duration?: string;
  /** IANA time zone the wall-clock times are read in; default UTC. */
  timeZone?: string;
}

export interface RecurringWindow {
  recurring: RecurringSpec;
}

export type FreezeWindow = AbsoluteWindow | RecurringWindow | (Partial<AbsoluteWindow> & Partial<RecurringWindow>);

/** How far ahead occurrences are enumerated (the end of a frozen period further away is reported as unknown). */
export const HORIZON_MS = 8 * 86_400_000;
const MINUTE = 60_000;

/** `HH:MM` → minutes after midnight. */
export function minuteOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

const zoneOf = (r: RecurringSpec) => r.timeZone ?? 'UTC';

function isRecurring(w: FreezeWindow): w is RecurringWindow {
  return (w as RecurringWindow).recurring !== undefined;
}

/** Whether a days/from/to window is in force at `at`: its local wall-clock minute is inside. */
function dailyActive(r: RecurringSpec, at: number): boolean {
  const local = DateTime.fromMillis(at, { zone: zoneOf(r) });
  const minute = local.hour * 60 + local.minute;
  const days = new Set(r.days ?? []);
  const today = WEEKDAYS[local.weekday - 1]!;
  const yesterday = WEEKDAYS[(local.weekday + 5) % 7]!;
  const from = minuteOfDay(r.from ?? '00:00');
  const to = minuteOfDay(r.to ?? '23:59');
  if (from <= to) return days.has(today) && minute >= from && minute <= to;
  // Overnight: the part after midnight belongs to the day the window started on.
  return (days.has(today) && minute >= from) || (days.has(yesterday) && minute <= to);
}

function cronOf(r: RecurringSpec): Cron {
  return new Cron(r.cron!, { timezone: zoneOf(r), paused: true });
}

function cronActive(r: RecurringSpec, at: number): boolean {
  const duration = parseDuration(r.duration ?? '0s') ?? 0;
  // The first start strictly after at - duration; the window [s, s + duration) holds `at` iff s <= at.
  const start = cronOf(r).nextRun(new Date(at - duration));
  return start !== null && start.getTime() <= at;
}

/** Whether one window is in force at `at` (epoch ms). */
export function windowActive(window: FreezeWindow, at: number): boolean {
  if (isRecurring(window)) {
    return window.recurring.cron !== undefined ? cronActive(window.recurring, at) : dailyActive(window.recurring, at);
  }
  const start = Date.parse(window.start!);
  const end = Date.parse(window.end!);
  return at >= start && at < end;
}

/** Whether any of the windows is in force at `at`. */
export function anyActive(windows: FreezeWindow[], at: number): boolean {
  return windows.some((w) => windowActive(w, at));
}

/** Start and end instants of a window's occurrences that overlap [from, to], as computed on the local calendar. */
export function occurrences(window: FreezeWindow, from: number, to: number): { start: number; end: number }[] {
  if (!isRecurring(window)) {
    return [{ start: Date.parse(window.start!), end: Date.parse(window.end!) }];
  }
  const r = window.recurring;
  const out: { start: number; end: number }[] = [];
  if (r.cron !== undefined) {
    const duration = parseDuration(r.duration ?? '0s') ?? 0;
    const cron = cronOf(r);
    let next = cron.nextRun(new Date(from - duration - 1));
    for (let i = 0; next && next.getTime() <= to && i < 1000; i++) {
      out.push({ start: next.getTime(), end: next.getTime() + duration });
      next = cron.nextRun(next);
    }
    return out;
  }
  const zone = zoneOf(r);
  const days = new Set(r.days ?? []);
  const fromMin = minuteOfDay(r.from ?? '00:00');
  const toMin = minuteOfDay(r.to ?? '23:59');
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  const last = DateTime.fromMillis(to, { zone }).startOf('day');
  while (day <= last) {
    if (days.has(WEEKDAYS[day.weekday - 1]!)) {
      const at = (d: DateTime, minutes: number) =>
        DateTime.fromObject({ year: d.year, month: d.month, day: d.day, hour: Math.floor(minutes / 60), minute: minutes % 60 }, { zone });
      const endDay = fromMin <= toMin ? day : day.plus({ days: 1 });
      // `to` is the last minute inside: the window ends a minute after it.
      out.push({ start: at(day, fromMin).toMillis(), end: at(endDay, toMin).toMillis() + MINUTE });
    }
    day = day.plus({ days: 1 });
  }
  return out;
}

/** Instants after `at` where some window starts or ends (within the horizon; absolute windows always). */
export function boundariesAfter(windows: FreezeWindow[], at: number): number[] {
  const set = new Set<number>();
  for (const w of windows) {
    for (const o of occurrences(w, at, at + HORIZON_MS)) {
      if (o.start > at) set.add(o.start);
      if (o.end > at) set.add(o.end);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * When the frozen period that holds `at` ends: the first boundary after `at` at which no window
 * is in force. Null when that is beyond the horizon (or never).
 */
export function frozenUntil(windows: FreezeWindow[], at: number): number | null {
  for (const b of boundariesAfter(windows, at)) {
    if (!anyActive(windows, b)) return b;
  }
  return null;
}

/**
 * When the window state should next be looked at: the next boundary; for recurring windows at
 * least hourly (a DST change can repeat local times the calendar walk does not list). Null: never again.
 */
export function nextCheck(windows: FreezeWindow[], at: number): number | null {
  const next = boundariesAfter(windows, at)[0];
  if (!windows.some(isRecurring)) return next ?? null;
  return Math.min(next ?? Number.POSITIVE_INFINITY, at + 3_600_000);
}
