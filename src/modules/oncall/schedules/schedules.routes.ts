import { Type } from '@sinclair/typebox';
import { transaction } from '../../../core/db/database.js';
import { type FieldIssue, notFound, validationFailed } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import { type CalendarShift, icalendar } from './ical.js';
import { layerShifts } from './rotation.js';
import { SCHEDULE_KIND, type ScheduleSpec } from './schedule.schema.js';
import type { Schedules } from './schedules.service.js';

const DAY = 24 * 3600_000;
const MAX_RANGE_MS = 93 * DAY;
const Name = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });
const Range = Type.Object({ from: Type.Optional(Type.String({ maxLength: 40 })), to: Type.Optional(Type.String({ maxLength: 40 })) });
const Period = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 40 }),
    to: Type.String({ minLength: 1, maxLength: 40 }),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** An ISO-8601 time or epoch milliseconds. */
export function parseTime(value: string | undefined, pointer: string, issues: FieldIssue[], fallback?: number): number {
  if (value === undefined || value === '') return fallback ?? Number.NaN;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) issues.push({ pointer, message: `"${value}" is not an ISO-8601 time or epoch milliseconds` });
  return ms;
}

function range(q: { from?: string; to?: string }, now: number, defaults: [number, number]) {
  const issues: FieldIssue[] = [];
  const from = parseTime(q.from, '/from', issues, now + defaults[0]);
  const to = parseTime(q.to, '/to', issues, from + defaults[1]);
  if (!issues.length && to <= from) issues.push({ pointer: '/to', message: 'must be after from' });
  if (!issues.length && to - from > MAX_RANGE_MS) issues.push({ pointer: '/to', message: 'ranges are limited to 93 days' });
  if (issues.length) throw validationFailed(`invalid range: ${issues.map((i) => `${i.pointer} ${i.message}`).join('; ')}`, issues);
  return { from, to };
}

export function scheduleRoutes(core: Core, deps: { schedules: Schedules; catalog: CatalogApi }): RouteDefinition[] {
  const { schedules } = deps;
  const exists = async (name: string) => {
    if (!(await core.resources.get(SCHEDULE_KIND, name)))
      throw notFound(`Schedule '${name}' does not exist`, { kind: SCHEDULE_KIND, name });
  };
  const period = async (body: { from: string; to: string }, user: { pointer: string; name: string }[]) => {
    const issues: FieldIssue[] = [];
    const from = parseTime(body.from, '/from', issues);
    const to = parseTime(body.to, '/to', issues);
    if (!issues.length && to <= from) issues.push({ pointer: '/to', message: 'must be after from' });
    for (const u of user)
      if (!(await deps.catalog.getUser(u.name))) issues.push({ pointer: u.pointer, message: `User '${u.name}' does not exist` });
    if (issues.length) throw validationFailed(`invalid: ${issues.map((i) => `${i.pointer} ${i.message}`).join('; ')}`, issues);
    return { from, to };
  };

  return [
    {
      method: 'GET',
      url: '/api/v1/schedules/:name/render',
      access: 'viewer',
      operationId: 'renderSchedule',
      summary: 'The final schedule over a range (default: the next 7 days) with layer provenance, and each layer on its own',
      tags: ['oncall'],
      schema: { params: Name, querystring: Range },
      async handler(request) {
        const { name } = request.params as { name: string };
        const { from, to } = range(request.query as { from?: string; to?: string }, core.clock.now(), [0, 7 * DAY]);
        const r = await schedules.renderAll(name, from, to);
        return { schedule: name, timeZone: r.spec.timeZone, from, to, final: r.final, layers: r.layers };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/schedules/:name/oncall',
      access: 'viewer',
      operationId: 'whoIsOnCall',
      summary: 'Who is on call now (or at `at`), and who is next',
      tags: ['oncall'],
      schema: { params: Name, querystring: Type.Object({ at: Type.Optional(Type.String({ maxLength: 40 })) }) },
      async handler(request) {
        const { name } = request.params as { name: string };
        const issues: FieldIssue[] = [];
        const at = parseTime((request.query as { at?: string }).at, '/at', issues, core.clock.now());
        if (issues.length) throw validationFailed('invalid at', issues);
        // The current stretch runs from `at` to its real end (not cut at at+1).
        const [current] = await schedules.render(name, at, at + 8 * 7 * DAY);
        return { schedule: name, at, current, next: (await schedules.nextOnCall(name, at)) ?? null };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/schedules/:name/ical',
      access: 'viewer',
      operationId: 'scheduleIcal',
      summary: 'The final schedule as iCalendar (RFC 5545), one event per shift; default two weeks back to eight ahead',
      tags: ['oncall'],
      schema: { params: Name, querystring: Range },
      async handler(request, reply) {
        const { name } = request.params as { name: string };
        const { from, to } = range(request.query as { from?: string; to?: string }, core.clock.now(), [-14 * DAY, 70 * DAY]);
        const final = await schedules.render(name, from, to);
        return reply.type('text/calendar; charset=utf-8').send(
          icalendar(
            `${name} on-call`,
            final.map((s): CalendarShift => ({ ...s, schedule: name })),
            core.clock.now(),
          ),
        );
      },
    },
    {
      method: 'GET',
      url: '/api/v1/users/:name/ical',
      access: 'viewer',
      operationId: 'userIcal',
      summary: "A person's on-call shifts across every schedule, as iCalendar",
      tags: ['oncall'],
      schema: { params: Name, querystring: Range },
      async handler(request, reply) {
        const { name } = request.params as { name: string };
        if (!(await deps.catalog.getUser(name))) throw notFound(`User '${name}' does not exist`, { kind: 'User', name });
        const { from, to } = range(request.query as { from?: string; to?: string }, core.clock.now(), [-14 * DAY, 70 * DAY]);
        const shifts: CalendarShift[] = [];
        for (const doc of await core.resources.list<ScheduleSpec>(SCHEDULE_KIND)) {
          for (const s of await schedules.render(doc.metadata.name, from, to)) {
            if (s.users.includes(name)) shifts.push({ ...s, users: [name], schedule: doc.metadata.name });
          }
        }
        return reply.type('text/calendar; charset=utf-8').send(icalendar(`${name} on-call`, shifts, core.clock.now()));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/schedules/:name/overrides',
      access: 'responder',
      operationId: 'createOverride',
      summary: 'Put someone on call instead of whoever the schedule has, for a while',
      tags: ['oncall'],
      schema: {
        params: Name,
        body: Type.Object({ ...Period.properties, user: Type.String({ minLength: 1, maxLength: 63 }) }, { additionalProperties: false }),
      },
      async handler(request, reply) {
        const { name } = request.params as { name: string };
        await exists(name);
        const body = request.body as { user: string; from: string; to: string; reason?: string };
        const { from, to } = await period(body, [{ pointer: '/user', name: body.user }]);
        const now = core.clock.now();
        const row = {
          id: newId('ovr', now),
          schedule: name,
          user: body.user,
          starts_at: from,
          ends_at: to,
          reason: body.reason ?? null,
          created_by: request.actor.name,
          created_at: now,
        };
        await transaction(core.db, async (tx) => {
          await tx.insertInto('oncall_schedule_overrides').values(row).execute();
          await core.audit.record(tx, {
            actor: request.actor,
            action: 'oncall.override.create',
            target: `Schedule/${name}`,
            change: { id: row.id, user: body.user, from, to, reason: body.reason },
          });
          await core.events.publish(tx, {
            type: 'oncall.override.created',
            actor: request.actor.name,
            subject: `Schedule/${name}`,
            data: { id: row.id, schedule: name, user: body.user, from, to },
          });
        });
        return reply
          .status(201)
          .send({ id: row.id, schedule: name, user: body.user, from, to, reason: row.reason, createdBy: row.created_by, createdAt: now });
      },
    },
    {
      method: 'GET',
      url: '/api/v1/schedules/:name/overrides',
      access: 'viewer',
      operationId: 'listOverrides',
      summary: 'Overrides that have not ended',
      tags: ['oncall'],
      schema: { params: Name },
      async handler(request) {
        const { name } = request.params as { name: string };
        await exists(name);
        const rows = await core.db
          .selectFrom('oncall_schedule_overrides')
          .selectAll()
          .where('schedule', '=', name)
          .where('ends_at', '>', core.clock.now())
          .orderBy('starts_at')
          .execute();
        return {
          items: rows.map((o) => ({
            id: o.id,
            schedule: o.schedule,
            user: o.user,
            from: Number(o.starts_at),
            to: Number(o.ends_at),
            reason: o.reason,
            createdBy: o.created_by,
            createdAt: Number(o.created_at),
          })),
        };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/schedules/:name/swaps',
      access: 'responder',
      operationId: 'createSwap',
      summary: "Hand a stretch of one person's shifts to another",
      tags: ['oncall'],
      schema: {
        params: Name,
        body: Type.Object(
          {
            ...Period.properties,
            fromUser: Type.String({ minLength: 1, maxLength: 63 }),
            toUser: Type.String({ minLength: 1, maxLength: 63 }),
          },
          { additionalProperties: false },
        ),
      },
      async handler(request, reply) {
        const { name } = request.params as { name: string };
        await exists(name);
        const body = request.body as { fromUser: string; toUser: string; from: string; to: string; reason?: string };
        const { from, to } = await period(body, [
          { pointer: '/fromUser', name: body.fromUser },
          { pointer: '/toUser', name: body.toUser },
        ]);
        const spec = (await core.resources.get<ScheduleSpec>(SCHEDULE_KIND, name))!.spec;
        const has = spec.layers.some((l) => layerShifts(l, spec.timeZone, from, to).some((s) => s.users.includes(body.fromUser)));
        if (!has)
          throw validationFailed('nothing to swap', [
            { pointer: '/fromUser', message: `${body.fromUser} has no shifts on ${name} between from and to` },
          ]);
        const now = core.clock.now();
        const row = {
          id: newId('swp', now),
          schedule: name,
          from_user: body.fromUser,
          to_user: body.toUser,
          starts_at: from,
          ends_at: to,
          reason: body.reason ?? null,
          created_by: request.actor.name,
          created_at: now,
        };
        await transaction(core.db, async (tx) => {
          await tx.insertInto('oncall_schedule_swaps').values(row).execute();
          await core.audit.record(tx, {
            actor: request.actor,
            action: 'oncall.swap.create',
            target: `Schedule/${name}`,
            change: { id: row.id, fromUser: body.fromUser, toUser: body.toUser, from, to },
          });
        });
        return reply
          .status(201)
          .send({ id: row.id, schedule: name, fromUser: body.fromUser, toUser: body.toUser, from, to, reason: row.reason });
      },
    },
    ...(['overrides', 'swaps'] as const).map(
      (what): RouteDefinition => ({
        method: 'DELETE',
        url: `/api/v1/schedules/:name/${what}/:id`,
        access: 'responder',
        operationId: what === 'overrides' ? 'deleteOverride' : 'deleteSwap',
        summary: `Cancel ${what === 'overrides' ? 'an override' : 'a swap'}`,
        tags: ['oncall'],
        schema: { params: Type.Object({ name: Type.String({ maxLength: 63 }), id: Type.String({ maxLength: 40 }) }) },
        async handler(request) {
          const { name, id } = request.params as { name: string; id: string };
          const table = what === 'overrides' ? 'oncall_schedule_overrides' : 'oncall_schedule_swaps';
          return transaction(core.db, async (tx) => {
            const deleted = await tx.deleteFrom(table).where('id', '=', id).where('schedule', '=', name).executeTakeFirst();
            if (Number(deleted.numDeletedRows) === 0)
              throw notFound(`no ${what === 'overrides' ? 'override' : 'swap'} '${id}' on Schedule '${name}'`);
            await core.audit.record(tx, {
              actor: request.actor,
              action: `oncall.${what === 'overrides' ? 'override' : 'swap'}.delete`,
              target: `Schedule/${name}`,
              change: { id },
            });
            return { id, deleted: true };
          });
        },
      }),
    ),
  ];
}
