import { Type } from '@sinclair/typebox';
import { transaction } from '../../../core/db/database.js';
import { AppError, type FieldIssue, notFound, validationFailed } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import { matchersPredicate, parseMatcher, type SilenceMatcher } from './matchers.js';
import { silenceView } from './silences.js';

const MatcherBody = Type.Union([
  Type.String({ minLength: 1, maxLength: 1000 }),
  Type.Object({
    name: Type.String({ minLength: 1 }),
    value: Type.String(),
    isRegex: Type.Boolean(),
    isEqual: Type.Optional(Type.Boolean()),
  }),
]);

const CreateBody = Type.Object({
  /** `["alertname=HighErrors", "service=~feed.*"]` or Alertmanager's matcher objects. */
  matchers: Type.Array(MatcherBody, { minItems: 1, maxItems: 50 }),
  startsAt: Type.Optional(Type.String()),
  endsAt: Type.Optional(Type.String()),
  /** Alternative to endsAt: minutes from startsAt. */
  durationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 24 * 60 })),
  comment: Type.String({ minLength: 1, maxLength: 2000 }),
});

type MatcherInput = string | { name: string; value: string; isRegex: boolean; isEqual?: boolean };

/** Parses and checks matchers; a silence must not match every alert. */
function checkMatchers(input: MatcherInput[], issues: FieldIssue[]): SilenceMatcher[] {
  const matchers: SilenceMatcher[] = [];
  input.forEach((m, i) => {
    const parsed = typeof m === 'string' ? parseMatcher(m) : { ...m, isEqual: m.isEqual ?? true };
    if (typeof parsed === 'string') issues.push({ pointer: `/matchers/${i}`, message: parsed });
    else matchers.push(parsed);
  });
  if (matchers.length && matchersPredicate(matchers)({})) {
    issues.push({ pointer: '/matchers', message: 'the matchers match every alert (each matches an empty label); add one that does not' });
  }
  return matchers;
}

export function silenceRoutes(core: Core): RouteDefinition[] {
  return [
    {
      method: 'POST',
      url: '/api/v1/silences',
      access: 'responder',
      operationId: 'createSilence',
      summary: 'Silence alerts matching every matcher for a while',
      tags: ['alerting'],
      schema: { body: CreateBody },
      async handler(request, reply) {
        const body = request.body as {
          matchers: MatcherInput[];
          startsAt?: string;
          endsAt?: string;
          durationMinutes?: number;
          comment: string;
        };
        const issues: FieldIssue[] = [];
        const now = core.clock.now();
        const matchers = checkMatchers(body.matchers, issues);
        const startsAt = body.startsAt === undefined ? now : Date.parse(body.startsAt);
        if (Number.isNaN(startsAt)) issues.push({ pointer: '/startsAt', message: `"${body.startsAt}" is not an ISO-8601 time` });
        if ((body.endsAt === undefined) === (body.durationMinutes === undefined)) {
          issues.push({ pointer: '/endsAt', message: 'give either endsAt or durationMinutes' });
        }
        const endsAt = body.endsAt !== undefined ? Date.parse(body.endsAt) : startsAt + (body.durationMinutes ?? 0) * 60_000;
        if (Number.isNaN(endsAt)) issues.push({ pointer: '/endsAt', message: `"${body.endsAt}" is not an ISO-8601 time` });
        else if (endsAt <= Math.max(startsAt, now))
          issues.push({ pointer: '/endsAt', message: 'must be in the future and after startsAt' });
        if (issues.length) throw validationFailed(`invalid silence: ${issues.map((i) => `${i.pointer} ${i.message}`).join('; ')}`, issues);
        const row = {
          id: newId('sil'),
          matchers: JSON.stringify(matchers),
          starts_at: startsAt,
          ends_at: endsAt,
          created_by: request.actor.name,
          comment: body.comment,
          created_at: now,
          expired_at: null,
        };
        await transaction(core.db, async (tx) => {
          await tx.insertInto('alerting_silences').values(row).execute();
          await core.audit.record(tx, {
            actor: request.actor,
            action: 'alerting.silence.create',
            target: `silence/${row.id}`,
            change: { matchers, startsAt, endsAt, comment: body.comment },
          });
          await core.events.publish(tx, {
            type: 'alerting.silence.created',
            actor: request.actor.name,
            subject: row.id,
            data: silenceView(row, now),
          });
        });
        return reply.status(201).send(silenceView(row, now));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/silences',
      access: 'viewer',
      operationId: 'listSilences',
      summary: 'Silences, newest first',
      tags: ['alerting'],
      schema: {
        querystring: Type.Object({
          state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('expired')])),
        }),
      },
      async handler(request) {
        const { state } = request.query as { state?: string };
        const now = core.clock.now();
        const rows = await core.db.selectFrom('alerting_silences').selectAll().orderBy('created_at', 'desc').limit(1000).execute();
        return { items: rows.map((r) => silenceView(r, now)).filter((s) => !state || s.state === state) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/silences/preview',
      access: 'viewer',
      operationId: 'previewSilence',
      summary: 'Which open alert groups (and alerts) these matchers would silence',
      tags: ['alerting'],
      schema: { body: Type.Object({ matchers: Type.Array(MatcherBody, { minItems: 1, maxItems: 50 }) }) },
      async handler(request) {
        const issues: FieldIssue[] = [];
        const matchers = checkMatchers((request.body as { matchers: MatcherInput[] }).matchers, issues);
        if (issues.length) throw validationFailed('invalid matchers', issues);
        const matches = matchersPredicate(matchers);
        const rows = await core.db
          .selectFrom('alerting_group_alerts')
          .innerJoin('alerting_groups', 'alerting_groups.id', 'alerting_group_alerts.group_id')
          .select([
            'alerting_groups.id as group',
            'alerting_groups.title',
            'alerting_group_alerts.fingerprint',
            'alerting_group_alerts.labels',
          ])
          .where('alerting_groups.status', '!=', 'resolved')
          .where('alerting_group_alerts.status', '=', 'firing')
          .execute();
        const hits = rows.filter((r) => matches(JSON.parse(r.labels)));
        return { alerts: hits.length, groups: [...new Map(hits.map((h) => [h.group, { id: h.group, title: h.title }])).values()] };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/silences/:id',
      access: 'responder',
      operationId: 'expireSilence',
      summary: 'Expire a silence now',
      tags: ['alerting'],
      async handler(request) {
        const { id } = request.params as { id: string };
        const now = core.clock.now();
        return transaction(core.db, async (tx) => {
          const row = await tx.selectFrom('alerting_silences').selectAll().where('id', '=', id).executeTakeFirst();
          if (!row) throw notFound(`silence '${id}' does not exist`);
          if (row.expired_at !== null || Number(row.ends_at) <= now)
            throw new AppError(409, 'conflict', `silence '${id}' has already expired`);
          await tx.updateTable('alerting_silences').set({ expired_at: now }).where('id', '=', id).execute();
          await core.audit.record(tx, { actor: request.actor, action: 'alerting.silence.expire', target: `silence/${id}` });
          await core.events.publish(tx, { type: 'alerting.silence.expired', actor: request.actor.name, subject: id, data: { id } });
          return silenceView({ ...row, expired_at: now }, now);
        });
      },
    },
  ];
}
