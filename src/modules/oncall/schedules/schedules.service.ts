import type { Executor } from '../../../core/db/database.js';
import { notFound } from '../../../core/errors.js';
import type { Core } from '../../../core/module.js';
import type { OnCallSegment, SchedulesApi } from '../contracts.js';
import { type Rendered, renderSchedule } from './render.js';
import { SCHEDULE_KIND, type ScheduleSpec } from './schedule.schema.js';
import { loadExtras } from './schedules.store.js';

const LOOKAHEAD_MS = 8 * 7 * 24 * 3600_000;

export function createSchedules(
  core: Core,
): SchedulesApi & { renderAll(name: string, from: number, to: number, tx?: Executor): Promise<Rendered & { spec: ScheduleSpec }> } {
  const renderAll = async (name: string, from: number, to: number, tx: Executor = core.db) => {
    const doc = await core.resources.get<ScheduleSpec>(SCHEDULE_KIND, name, tx);
    if (!doc) throw notFound(`Schedule '${name}' does not exist`, { kind: SCHEDULE_KIND, name });
    return { ...renderSchedule(doc.spec, from, to, await loadExtras(tx, name, from, to)), spec: doc.spec };
  };
  const render = async (name: string, from: number, to: number, tx?: Executor): Promise<OnCallSegment[]> =>
    (await renderAll(name, from, to, tx)).final;
  return {
    renderAll,
    render,
    async onCall(name, at, tx) {
      return (await render(name, at, at + 1, tx))[0]?.users ?? [];
    },
    async nextOnCall(name, at, tx) {
      const segments = await render(name, at, at + LOOKAHEAD_MS, tx);
      const current = segments[0];
      return segments.find((s) => s !== current && s.users.length > 0 && s.users.join() !== current?.users.join());
    },
  };
}
export type Schedules = ReturnType<typeof createSchedules>;
