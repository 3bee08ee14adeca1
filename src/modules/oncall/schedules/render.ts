import type { OnCallSegment } from '../contracts.js';
import { layerShifts } from './rotation.js';
import type { ScheduleSpec } from './schedule.schema.js';

export interface Override {
  id: string;
  user: string;
  from: number;
  to: number;
  createdAt: number;
}

/** `from` hands their shifts in [start, end) to `to`, in every layer. */
export interface Swap {
  id: string;
  fromUser: string;
  toUser: string;
  start: number;
  end: number;
}

export interface Rendered {
  final: OnCallSegment[];
  layers: { name: string; segments: OnCallSegment[] }[];
}

const same = (a: OnCallSegment, b: OnCallSegment) =>
  a.end === b.start && a.layer === b.layer && a.overrideId === b.overrideId && a.swapId === b.swapId && a.users.join() === b.users.join();

function merge(segments: OnCallSegment[]): OnCallSegment[] {
  const out: OnCallSegment[] = [];
  for (const s of segments) {
    const last = out.at(-1);
    if (last && same(last, s)) last.end = s.end;
    else out.push({ ...s, users: [...s.users] });
  }
  return out;
}

/**
 * The schedule over [from, to): each layer's shifts (with swaps applied), then for every instant
 * the highest layer that has someone, then overrides on top (the latest created wins where they
 * overlap). Gaps are segments with nobody (`layer: 'none'`), so the result covers [from, to) exactly.
 */
export function renderSchedule(
  spec: ScheduleSpec,
  from: number,
  to: number,
  extra: { overrides?: Override[]; swaps?: Swap[] } = {},
): Rendered {
  const swaps = extra.swaps ?? [];
  const layers = spec.layers.map((layer) => {
    const shifts = layerShifts(layer, spec.timeZone, from, to);
    // Cut at swap edges so a swap changes exactly its window.
    const cuts = new Set<number>();
    for (const s of swaps) cuts.add(s.start).add(s.end);
    const pieces: OnCallSegment[] = [];
    for (const shift of shifts) {
      const edges = [shift.start, ...[...cuts].filter((c) => c > shift.start && c < shift.end).sort((a, b) => a - b), shift.end];
      for (let i = 0; i < edges.length - 1; i++) {
        const start = edges[i]!;
        const swap = swaps.find((s) => s.start <= start && start < s.end && shift.users.includes(s.fromUser));
        pieces.push({
          start,
          end: edges[i + 1]!,
          users: swap ? shift.users.map((u) => (u === swap.fromUser ? swap.toUser : u)) : shift.users,
          layer: layer.name,
          ...(swap ? { swapId: swap.id } : {}),
        });
      }
    }
    return { name: layer.name, segments: merge(pieces) };
  });

  const overrides = (extra.overrides ?? []).filter((o) => o.to > from && o.from < to).sort((a, b) => a.createdAt - b.createdAt);
  const edges = new Set<number>([from, to]);
  for (const l of layers) for (const s of l.segments) edges.add(s.start).add(s.end);
  for (const o of overrides) edges.add(Math.max(o.from, from)).add(Math.min(o.to, to));
  const points = [...edges].filter((e) => e >= from && e <= to).sort((a, b) => a - b);
  const cursors = layers.map(() => 0);
  const pieces: OnCallSegment[] = [];
  for (let i = 0; i < points.length - 1; i++) {
    const start = points[i]!;
    const end = points[i + 1]!;
    const override = overrides.filter((o) => o.from <= start && start < o.to).at(-1);
    if (override) {
      pieces.push({ start, end, users: [override.user], layer: 'override', overrideId: override.id });
      continue;
    }
    let chosen: OnCallSegment | undefined;
    for (let l = layers.length - 1; l >= 0; l--) {
      const segs = layers[l]!.segments;
      while (cursors[l]! < segs.length && segs[cursors[l]!]!.end <= start) cursors[l]!++;
      const seg = segs[cursors[l]!];
      if (!chosen && seg && seg.start <= start && seg.users.length > 0) chosen = seg;
    }
    pieces.push(chosen ? { ...chosen, start, end } : { start, end, users: [], layer: 'none' });
  }
  return { final: merge(pieces), layers };
}

/** Stretches with nobody on call, of at least `minMs`. */
export function gaps(final: OnCallSegment[], minMs = 60_000): { start: number; end: number }[] {
  return final.filter((s) => s.users.length === 0 && s.end - s.start >= minMs).map((s) => ({ start: s.start, end: s.end }));
}
