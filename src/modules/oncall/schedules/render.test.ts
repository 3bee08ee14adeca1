import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { OnCallSegment } from '../contracts.js';
import { gaps, renderSchedule } from './render.js';
import { layerShifts } from './rotation.js';
import type { Layer, ScheduleSpec } from './schedule.schema.js';

const iso = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-LL-dd HH:mm');
const at = (text: string) => Date.parse(text);
const H = 3600_000;

/** Asserts segments tile [from, to) exactly: ordered, contiguous, no overlap. */
function expectTiling(segments: { start: number; end: number }[], from: number, to: number) {
  expect(segments[0]?.start).toBe(from);
  expect(segments.at(-1)?.end).toBe(to);
  for (let i = 1; i < segments.length; i++) expect(segments[i]!.start).toBe(segments[i - 1]!.end);
}

describe('schedule rotation', () => {
  it('hands over every Monday at 09:00 Dublin time across both DST changes', () => {
    const layer: Layer = {
      name: 'emea',
      users: ['alice', 'bob'],
      turn: '1w',
      handoff: { weekday: 'monday', time: '09:00' },
      start: '2026-01-05',
    };
    const shifts = layerShifts(layer, 'Europe/Dublin', at('2026-03-16T00:00:00Z'), at('2026-11-10T00:00:00Z'));
    const starts = shifts.slice(1).map((s) => iso(s.start, 'Europe/Dublin'));
    expect(starts.every((s) => s.startsWith('Mon') && s.endsWith('09:00'))).toBe(true);
    // 09:00 local is 09:00 UTC in winter and 08:00 UTC in summer (IST).
    const utc = (d: string) => shifts.find((s) => iso(s.start, 'Europe/Dublin').includes(d))!.start;
    expect(new Date(utc('2026-03-23')).toISOString()).toBe('2026-03-23T09:00:00.000Z');
    expect(new Date(utc('2026-03-30')).toISOString()).toBe('2026-03-30T08:00:00.000Z');
    expect(new Date(utc('2026-10-19')).toISOString()).toBe('2026-10-19T08:00:00.000Z');
    expect(new Date(utc('2026-10-26')).toISOString()).toBe('2026-10-26T09:00:00.000Z');
    // The week containing the spring change is an hour shorter, the autumn one an hour longer.
    const len = (d: string) => {
      const s = shifts.find((x) => iso(x.start, 'Europe/Dublin').includes(d))!;
      return (s.end - s.start) / H;
    };
    expect([len('2026-03-23'), len('2026-03-30'), len('2026-10-19')]).toEqual([167, 168, 169]);
    // Alternating people from 2026-01-05 (alice): 03-23 is turn 11 (bob), 03-30 turn 12 (alice).
    expect(shifts.find((s) => iso(s.start, 'Europe/Dublin').includes('2026-03-23'))!.users).toEqual(['bob']);
    expect(shifts.find((s) => iso(s.start, 'Europe/Dublin').includes('2026-03-30'))!.users).toEqual(['alice']);
  });

  it('has nobody before the first handoff at or after start', () => {
    const layer: Layer = { name: 'l', users: ['a'], turn: '1w', handoff: { weekday: 'monday', time: '09:00' }, start: '2026-01-07' };
    const shifts = layerShifts(layer, 'UTC', at('2026-01-01T00:00:00Z'), at('2026-01-20T00:00:00Z'));
    expect(new Date(shifts[0]!.start).toISOString()).toBe('2026-01-12T09:00:00.000Z');
  });

  it('forms 24 h follow-the-sun coverage from Los Angeles and Singapore layers, and reports the hour DST opens', () => {
    const spec: ScheduleSpec = {
      timeZone: 'UTC',
      layers: [
        {
          name: 'apac',
          timeZone: 'Asia/Singapore',
          users: ['wei', 'ana'],
          turn: '1w',
          handoff: { weekday: 'monday', time: '09:00' },
          start: '2026-01-05',
          restrictions: [{ daily: { from: '09:00', to: '21:00' } }],
        },
        {
          name: 'amer',
          timeZone: 'America/Los_Angeles',
          users: ['sam', 'joe'],
          turn: '1w',
          handoff: { weekday: 'monday', time: '06:00' },
          start: '2026-01-05',
          restrictions: [{ daily: { from: '06:00', to: '18:00' } }],
        },
      ],
    };
    // Summer (PDT, UTC-7): Singapore 01:00–13:00 UTC, Los Angeles 13:00–01:00 UTC: exactly 24 h.
    const from = at('2026-06-10T00:00:00Z');
    const to = at('2026-06-17T00:00:00Z');
    const { final } = renderSchedule(spec, from, to);
    expectTiling(final, from, to);
    expect(gaps(final)).toEqual([]);
    const byLayer = (ms: number) => final.find((s) => s.start <= ms && ms < s.end)!.layer;
    expect(byLayer(at('2026-06-11T05:00:00Z'))).toBe('apac');
    expect(byLayer(at('2026-06-11T20:00:00Z'))).toBe('amer');
    // Winter (PST, UTC-8): Los Angeles covers 14:00–02:00 UTC, so 13:00–14:00 UTC has nobody
    // (and 01:00–02:00 both: the higher layer, amer, wins). Gap detection says so.
    const winter = renderSchedule(spec, at('2026-12-01T00:00:00Z'), at('2026-12-02T00:00:00Z'));
    expect(gaps(winter.final).map((g) => [new Date(g.start).toISOString(), new Date(g.end).toISOString()])).toEqual([
      ['2026-12-01T13:00:00.000Z', '2026-12-01T14:00:00.000Z'],
    ]);
  });

  it("covers the seed's follow-the-sun APAC 00–08, EU 08–16, Americas 16–24 UTC with no gap", () => {
    const layer = (name: string, users: string[], from: string, to: string): Layer => ({
      name,
      users,
      turn: '1w',
      handoff: { weekday: 'monday', time: '00:00' },
      start: '2026-01-05',
      restrictions: [{ daily: { from, to } }],
    });
    const spec: ScheduleSpec = {
      timeZone: 'UTC',
      layers: [
        layer('apac', ['a1', 'a2'], '00:00', '08:00'),
        layer('eu', ['e1'], '08:00', '16:00'),
        layer('americas', ['m1', 'm2'], '16:00', '24:00'),
      ],
    };
    const from = at('2026-03-01T00:00:00Z');
    const to = at('2026-04-01T00:00:00Z');
    const { final } = renderSchedule(spec, from, to);
    expectTiling(final, from, to);
    expect(gaps(final)).toEqual([]);
    expect(final.find((s) => s.start === at('2026-03-10T16:00:00Z'))!).toMatchObject({
      layer: 'americas',
      end: at('2026-03-11T00:00:00Z'),
    });
  });

  it('lets an override split a shift into three, and a swap hand over only its window', () => {
    const spec: ScheduleSpec = {
      timeZone: 'UTC',
      layers: [{ name: 'main', users: ['alice', 'bob'], turn: '1w', handoff: { weekday: 'monday', time: '09:00' }, start: '2026-01-05' }],
    };
    const from = at('2026-01-05T09:00:00Z');
    const to = at('2026-01-12T09:00:00Z');
    const override = { id: 'ovr_1', user: 'carol', from: at('2026-01-07T00:00:00Z'), to: at('2026-01-08T00:00:00Z'), createdAt: 1 };
    const { final } = renderSchedule(spec, from, to, { overrides: [override] });
    expect(final.map((s) => [s.users[0], s.layer])).toEqual([
      ['alice', 'main'],
      ['carol', 'override'],
      ['alice', 'main'],
    ]);
    const swap = { id: 'swp_1', fromUser: 'alice', toUser: 'dave', start: at('2026-01-10T00:00:00Z'), end: at('2026-01-11T00:00:00Z') };
    const swapped = renderSchedule(spec, from, to, { swaps: [swap] }).final;
    expect(swapped.map((s) => [s.users[0], s.swapId ?? null])).toEqual([
      ['alice', null],
      ['dave', 'swp_1'],
      ['alice', null],
    ]);
  });

  it('puts a whole group on call at once, and honours weekly windows', () => {
    const spec: ScheduleSpec = {
      timeZone: 'Europe/Berlin',
      layers: [
        {
          name: 'weekdays',
          groups: [['alice', 'bob'], ['carol']],
          turn: '1d',
          handoff: { time: '09:00' },
          start: '2026-02-02',
          restrictions: [{ weekly: { from: { weekday: 'monday', time: '09:00' }, to: { weekday: 'friday', time: '17:00' } } }],
        },
      ],
    };
    const { final } = renderSchedule(spec, at('2026-02-02T00:00:00Z'), at('2026-02-09T00:00:00Z'));
    const on = (ms: number) => final.find((s) => s.start <= ms && ms < s.end)!.users;
    expect(on(at('2026-02-02T10:00:00Z'))).toEqual(['alice', 'bob']);
    expect(on(at('2026-02-03T10:00:00Z'))).toEqual(['carol']);
    expect(on(at('2026-02-06T17:00:00Z'))).toEqual([]); // Friday 18:00 Berlin: outside the window
    expect(on(at('2026-02-07T12:00:00Z'))).toEqual([]); // Saturday
  });
});

const ZONES = ['UTC', 'Europe/Dublin', 'America/Los_Angeles', 'Asia/Singapore', 'Australia/Sydney', 'America/St_Johns'];
const layerArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  users: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 4 }),
  turn: fc.constantFrom('1w', '2w', '1d', '3d', '12h', '8h', '6h', '5h', '36h'),
  hour: fc.integer({ min: 0, max: 23 }),
  weekday: fc.constantFrom('monday', 'wednesday', 'sunday'),
  startDay: fc.integer({ min: 0, max: 300 }),
  restricted: fc.option(fc.record({ from: fc.integer({ min: 0, max: 22 }), len: fc.integer({ min: 1, max: 12 }) }), { nil: undefined }),
});
const toLayer = (
  l: fc.Arbitrary<unknown> extends never
    ? never
    : {
        zone: string;
        users: string[];
        turn: string;
        hour: number;
        weekday: string;
        startDay: number;
        restricted?: { from: number; len: number };
      },
  name: string,
): Layer => {
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;
  return {
    name,
    users: l.users,
    turn: l.turn,
    timeZone: l.zone,
    handoff: { time: hh(l.hour), ...(l.turn.endsWith('w') ? { weekday: l.weekday as Layer['handoff']['weekday'] } : {}) },
    start: DateTime.fromISO('2026-01-01').plus({ days: l.startDay }).toISODate()!,
    ...(l.restricted
      ? {
          restrictions: [
            {
              daily: { from: hh(l.restricted.from), to: hh(Math.min(24, l.restricted.from + l.restricted.len)).replace('24:00', '24:00') },
            },
          ],
        }
      : {}),
  };
};

/** The reference answer at one instant, without rendering a range. */
function pointQuery(spec: ScheduleSpec, ms: number): OnCallSegment | undefined {
  for (let i = spec.layers.length - 1; i >= 0; i--) {
    const s = layerShifts(spec.layers[i]!, spec.timeZone, ms, ms + 1)[0];
    if (s && s.users.length) return { ...s, layer: spec.layers[i]!.name };
  }
  return undefined;
}

describe('schedule properties', () => {
  it('each unrestricted layer covers every instant after its start exactly once, over any range', () => {
    fc.assert(
      fc.property(layerArb, fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 40 }), (l, offsetDays, spanDays) => {
        const layer = toLayer({ ...l, restricted: undefined }, 'l');
        const from = at('2026-01-01T00:00:00Z') + offsetDays * 24 * H;
        const to = from + spanDays * 24 * H;
        const shifts = layerShifts(layer, 'UTC', from, to);
        const startDay = Date.parse(`${layer.start}T00:00:00Z`);
        const begin = layerShifts(layer, 'UTC', startDay - 2 * 24 * H, startDay + 16 * 24 * H)[0]!.start;
        if (begin >= to) return shifts.length === 0;
        expectTiling(shifts, Math.max(from, begin), to);
        return true;
      }),
      { numRuns: 150 },
    );
  });

  it('restricted layers stay inside their windows; the final schedule tiles the range and agrees with a point query', () => {
    fc.assert(
      fc.property(
        fc.array(layerArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
        (ls, offsetDays, spanDays, probes) => {
          const spec: ScheduleSpec = { timeZone: 'UTC', layers: ls.map((l, i) => toLayer(l, `l${i}`)) };
          const from = at('2026-01-01T00:00:00Z') + offsetDays * 24 * H;
          const to = from + spanDays * 24 * H;
          const { final, layers } = renderSchedule(spec, from, to);
          expectTiling(final, from, to);
          for (const [i, layer] of spec.layers.entries()) {
            const r = layer.restrictions?.[0];
            if (!r || !('daily' in r)) continue;
            for (const s of layers[i]!.segments) {
              const local = DateTime.fromMillis(s.start, { zone: layer.timeZone });
              const [fh] = r.daily.from.split(':').map(Number) as [number];
              const [th] = r.daily.to.split(':').map(Number) as [number];
              // A window starts at or after `from` local (DST may move a skipped hour forward) and ends by `to`.
              expect(local.hour >= fh || local.hour < th || s.end - s.start <= 25 * H).toBe(true);
            }
          }
          for (const p of probes) {
            const ms = Math.floor(from + p * (to - from - 1));
            const seg = final.find((s) => s.start <= ms && ms < s.end)!;
            const expected = pointQuery(spec, ms);
            expect(seg.users).toEqual(expected?.users ?? []);
          }
          return true;
        },
      ),
      { numRuns: 100 },
    );
  });
});
