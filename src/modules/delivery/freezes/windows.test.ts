import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyActive, type FreezeWindow, frozenUntil, nextCheck, WEEKDAYS, type Weekday, windowActive } from './windows.js';

const DUBLIN = 'Europe/Dublin';
const utc = (iso: string) => Date.parse(iso);

/** An independent reading of the wall clock (Intl, not luxon): weekday and minute of day in `zone`. */
function wallClock(at: number, zone: string): { day: Weekday; minute: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const day = parts.weekday!.toLowerCase().slice(0, 3) as Weekday;
  return { day, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

describe('recurring freeze windows', () => {
  const fridayAfternoon: FreezeWindow = { recurring: { days: ['fri'], from: '14:00', to: '23:59', timeZone: DUBLIN } };

  it('reads days/from/to on the local wall clock, winter (GMT) and summer (IST) alike', () => {
    // 2026-01-09 and 2026-07-10 are Fridays; Dublin is UTC+0 in January and UTC+1 in July.
    expect(windowActive(fridayAfternoon, utc('2026-01-09T13:59:59Z'))).toBe(false);
    expect(windowActive(fridayAfternoon, utc('2026-01-09T14:00:00Z'))).toBe(true);
    expect(windowActive(fridayAfternoon, utc('2026-01-09T23:59:59Z'))).toBe(true);
    expect(windowActive(fridayAfternoon, utc('2026-01-10T00:00:00Z'))).toBe(false);
    expect(windowActive(fridayAfternoon, utc('2026-07-10T12:59:59Z'))).toBe(false);
    expect(windowActive(fridayAfternoon, utc('2026-07-10T13:00:00Z'))).toBe(true);
    expect(windowActive(fridayAfternoon, utc('2026-07-10T22:59:59Z'))).toBe(true);
    expect(windowActive(fridayAfternoon, utc('2026-07-10T23:00:00Z'))).toBe(false);
    // Thursday and Saturday at the same local time are open.
    expect(windowActive(fridayAfternoon, utc('2026-07-09T15:00:00Z'))).toBe(false);
    expect(windowActive(fridayAfternoon, utc('2026-07-11T15:00:00Z'))).toBe(false);
  });

  it('says when the frozen period ends: local midnight, whichever offset is in force', () => {
    expect(frozenUntil([fridayAfternoon], utc('2026-01-09T15:00:00Z'))).toBe(utc('2026-01-10T00:00:00Z'));
    expect(frozenUntil([fridayAfternoon], utc('2026-07-10T15:00:00Z'))).toBe(utc('2026-07-10T23:00:00Z'));
    // Friday afternoon followed by an all-Saturday window: one frozen period until Sunday.
    const saturday: FreezeWindow = { recurring: { days: ['sat'], from: '00:00', to: '23:59', timeZone: DUBLIN } };
    expect(frozenUntil([fridayAfternoon, saturday], utc('2026-07-10T15:00:00Z'))).toBe(utc('2026-07-11T23:00:00Z'));
  });

  it('follows the DST changes of Europe/Dublin: a repeated hour is frozen twice, a skipped one never', () => {
    const sundayNight: FreezeWindow = { recurring: { days: ['sun'], from: '01:00', to: '01:59', timeZone: DUBLIN } };
    // 2026-10-25: at 02:00 IST the clocks go back to 01:00 GMT, so 01:xx happens twice.
    expect(windowActive(sundayNight, utc('2026-10-24T23:59:00Z'))).toBe(false); // 00:59 IST
    expect(windowActive(sundayNight, utc('2026-10-25T00:30:00Z'))).toBe(true); // 01:30 IST
    expect(windowActive(sundayNight, utc('2026-10-25T01:30:00Z'))).toBe(true); // 01:30 GMT
    expect(windowActive(sundayNight, utc('2026-10-25T02:00:00Z'))).toBe(false); // 02:00 GMT
    // 2026-03-29: at 01:00 GMT the clocks go forward to 02:00 IST; 01:xx does not exist.
    expect(windowActive(sundayNight, utc('2026-03-29T00:59:00Z'))).toBe(false); // 00:59 GMT
    expect(windowActive(sundayNight, utc('2026-03-29T01:00:00Z'))).toBe(false); // 02:00 IST
    // A Friday-afternoon window on the days around the change keeps its local hours.
    const before = utc('2026-03-27T14:00:00Z'); // Friday 14:00 GMT
    const after = utc('2026-04-03T13:00:00Z'); // Friday 14:00 IST
    expect([windowActive(fridayAfternoon, before - 1), windowActive(fridayAfternoon, before)]).toEqual([false, true]);
    expect([windowActive(fridayAfternoon, after - 1), windowActive(fridayAfternoon, after)]).toEqual([false, true]);
  });

  it('is active at t exactly when its local wall-clock time is inside (property, across both DST changes)', () => {
    const from = utc('2026-03-20T00:00:00Z');
    const to = utc('2026-11-05T00:00:00Z');
    // Instants near the two transitions weigh more: that is where an offset mistake shows.
    const instant = fc.oneof(
      fc.integer({ min: from, max: to }),
      fc.integer({ min: utc('2026-03-28T12:00:00Z'), max: utc('2026-03-30T12:00:00Z') }),
      fc.integer({ min: utc('2026-10-24T12:00:00Z'), max: utc('2026-10-26T12:00:00Z') }),
    );
    const window = fc.record({
      days: fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 7 }),
      from: fc.integer({ min: 0, max: 1439 }),
      to: fc.integer({ min: 0, max: 1439 }),
    });
    fc.assert(
      fc.property(window, instant, (w, at) => {
        const spec: FreezeWindow = { recurring: { days: w.days, from: hhmm(w.from), to: hhmm(w.to), timeZone: DUBLIN } };
        const { day, minute } = wallClock(at, DUBLIN);
        const yesterday = WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]!;
        const expected =
          w.from <= w.to
            ? w.days.includes(day) && minute >= w.from && minute <= w.to
            : (w.days.includes(day) && minute >= w.from) || (w.days.includes(yesterday) && minute <= w.to);
        expect(windowActive(spec, at)).toBe(expected);
        // Where a frozen period is said to end, it has ended.
        if (expected) {
          const until = frozenUntil([spec], at);
          if (until !== null) {
            expect(until).toBeGreaterThan(at);
            expect(anyActive([spec], until)).toBe(false);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('supports overnight windows: the part after midnight belongs to the starting day', () => {
    const overnight: FreezeWindow = { recurring: { days: ['fri'], from: '22:00', to: '05:59', timeZone: 'UTC' } };
    expect(windowActive(overnight, utc('2026-01-09T22:00:00Z'))).toBe(true); // Fri 22:00
    expect(windowActive(overnight, utc('2026-01-10T05:59:00Z'))).toBe(true); // Sat 05:59
    expect(windowActive(overnight, utc('2026-01-10T06:00:00Z'))).toBe(false);
    expect(windowActive(overnight, utc('2026-01-09T05:00:00Z'))).toBe(false); // Fri early: Thursday did not start one
    expect(frozenUntil([overnight], utc('2026-01-09T23:00:00Z'))).toBe(utc('2026-01-10T06:00:00Z'));
  });

  it('runs cron windows for their duration in their time zone', () => {
    const cron: FreezeWindow = { recurring: { cron: '0 14 * * 5', duration: '10h', timeZone: DUBLIN } };
    expect(windowActive(cron, utc('2026-07-10T12:59:59Z'))).toBe(false);
    expect(windowActive(cron, utc('2026-07-10T13:00:00Z'))).toBe(true); // 14:00 IST
    expect(windowActive(cron, utc('2026-07-10T22:59:59Z'))).toBe(true);
    expect(windowActive(cron, utc('2026-07-10T23:00:00Z'))).toBe(false);
    expect(frozenUntil([cron], utc('2026-07-10T15:00:00Z'))).toBe(utc('2026-07-10T23:00:00Z'));
    expect(windowActive(cron, utc('2026-01-09T14:00:00Z'))).toBe(true); // 14:00 GMT
  });

  it('treats date ranges as [start, end) and stops checking once they are over', () => {
    const range: FreezeWindow = { start: '2026-12-24T00:00:00+01:00', end: '2026-12-27T00:00:00+01:00' };
    expect(windowActive(range, utc('2026-12-23T22:59:59Z'))).toBe(false);
    expect(windowActive(range, utc('2026-12-23T23:00:00Z'))).toBe(true);
    expect(windowActive(range, utc('2026-12-26T23:00:00Z'))).toBe(false);
    expect(frozenUntil([range], utc('2026-12-25T12:00:00Z'))).toBe(utc('2026-12-26T23:00:00Z'));
    expect(nextCheck([range], utc('2026-12-01T00:00:00Z'))).toBe(utc('2026-12-23T23:00:00Z'));
    expect(nextCheck([range], utc('2027-01-01T00:00:00Z'))).toBeNull();
    // Recurring windows are looked at least hourly.
    expect(nextCheck([fridayAfternoon], utc('2026-07-06T00:00:00Z'))).toBe(utc('2026-07-06T01:00:00Z'));
  });
});
