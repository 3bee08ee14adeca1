import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { transaction } from '../../../core/db/database.js';
import { badRequest, type FieldIssue, validationFailed } from '../../../core/errors.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import type { AlertingApi } from '../../alerting/index.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { SchedulesApi } from '../contracts.js';
import { ESCALATION_POLICY_KIND, type EscalationPolicySpec } from '../escalation/policy.schema.js';
import { resolveStep } from '../escalation/targets.js';
import { parseTime } from '../schedules/schedules.routes.js';
import { toChange } from './alert-groups.js';
import type { ActionLinks } from './links.js';
import type { Paging } from './pages.service.js';
import type { OncallPagesTable } from './paging.tables.js';

export interface PageView {
  id: string;
  status: string;
  title: string;
  summary: string | null;
  service: string | null;
  policy: string | null;
  user: string | null;
  urgency: string;
  source: string;
  groupId: string | null;
  step: number;
  round: number;
  cycle: number;
  triggeredAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  changes: unknown[];
}

export function pageView(p: OncallPagesTable): PageView {
  return {
    id: p.id,
    status: p.status,
    title: p.title,
    summary: p.summary,
    service: p.service,
    policy: p.policy,
    user: p.direct_user,
    urgency: p.urgency,
    source: p.source,
    groupId: p.group_id,
    step: p.step + 1,
    round: p.round + 1,
    cycle: p.cycle,
    triggeredAt: Number(p.triggered_at),
    acknowledgedAt: p.acknowledged_at === null ? null : Number(p.acknowledged_at),
    acknowledgedBy: p.acknowledged_by,
    resolvedAt: p.resolved_at === null ? null : Number(p.resolved_at),
    resolvedBy: p.resolved_by,
    changes: JSON.parse(p.changes) as unknown[],
  };
}

const CreateBody = Type.Object(
  {
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    policy: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    title: Type.String({ minLength: 1, maxLength: 500 }),
    summary: Type.Optional(Type.String({ maxLength: 10_000 })),
    urgency: Type.Optional(Type.Union([Type.Literal('high'), Type.Literal('low')])),
    /** With `service`: use the service's `oncall.bySeverity` policy for this severity when it has one. */
    severity: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,20}$' })),
  },
  { additionalProperties: false },
);
type CreateBody = {
  service?: string;
  user?: string;
  policy?: string;
  title: string;
  summary?: string;
  urgency?: 'high' | 'low';
  severity?: string;
};
const IdParams = Type.Object({ id: Type.String({ pattern: '^pag_[0-9a-z]{26}$' }) });

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function html(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .status(status)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head>` +
        `<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem"><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

const TokenQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 2000 }) });
const refused = (reply: FastifyReply, why: string) => html(reply, 403, 'Link refused', `<p>${escapeHtml(why)}</p>`);

export function pageRoutes(
  core: Core,
  deps: { paging: Paging; links: ActionLinks; catalog: CatalogApi; schedules: SchedulesApi; alerting: AlertingApi },
): RouteDefinition[] {
  const { paging, links } = deps;
  const act = (action: 'ack' | 'resolve') =>
    async function handler(request: import('fastify').FastifyRequest) {
      const { id } = request.params as { id: string };
      const page = await transaction(core.db, async (tx) => {
        const p =
          action === 'ack' ? await paging.acknowledge(tx, id, request.actor.name) : await paging.resolve(tx, id, request.actor.name);
        await core.audit.record(tx, {
          actor: request.actor,
          action: `oncall.page.${action === 'ack' ? 'acknowledge' : 'resolve'}`,
          target: `page/${id}`,
        });
        return p;
      });
      return pageView(page);
    };

  return [
    {
      method: 'POST',
      url: '/api/v1/pages',
      access: 'responder',
      operationId: 'createPage',
      summary: "Page someone by hand: a service's escalation policy, a named policy, or one user",
      tags: ['oncall'],
      schema: { body: CreateBody },
      async handler(request, reply) {
        const body = request.body as CreateBody;
        const given = (['service', 'user', 'policy'] as const).filter((k) => body[k] !== undefined);
        const issues: FieldIssue[] = [];
        if (given.length === 0) issues.push({ pointer: '/service', message: 'give service, user or policy: who to page' });
        if (body.user && given.length > 1) issues.push({ pointer: '/user', message: 'a page to a user takes no service or policy' });
        if (body.service && !(await deps.catalog.getService(body.service))) {
          issues.push({ pointer: '/service', message: `Service '${body.service}' does not exist` });
        }
        if (body.policy && !(await core.resources.get(ESCALATION_POLICY_KIND, body.policy))) {
          issues.push({ pointer: '/policy', message: `EscalationPolicy '${body.policy}' does not exist` });
        }
        if (body.user && !(await deps.catalog.getUser(body.user)))
          issues.push({ pointer: '/user', message: `User '${body.user}' does not exist` });
        if (issues.length) throw validationFailed(`cannot page: ${issues.map((i) => `${i.pointer} ${i.message}`).join('; ')}`, issues);
        const now = core.clock.now();
        // Read before the transaction: the change timeline has its own connection.
        const changes = body.service ? await deps.alerting.whatChanged({ service: body.service, openedAt: now, until: now }) : [];
        const result = await transaction(core.db, async (tx) => {
          const r = await paging.trigger(tx, {
            source: 'manual',
            service: body.service,
            policy: body.policy,
            user: body.user,
            title: body.title,
            summary: body.summary,
            urgency: body.urgency,
            severity: body.severity,
            changes: changes.map(toChange),
            by: request.actor.name,
          });
          if (!r)
            throw badRequest(`Service '${body.service}' has no spec.oncall.escalationPolicy: name a policy or a user`, {
              pointer: '/service',
            });
          await core.audit.record(tx, { actor: request.actor, action: 'oncall.page.create', target: `page/${r.page.id}`, change: body });
          return r;
        });
        return reply.status(201).send(pageView(result.page));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/pages',
      access: 'viewer',
      operationId: 'listPages',
      summary: 'Pages, newest first',
      tags: ['oncall'],
      schema: {
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['open', 'triggered', 'acknowledged', 'resolved', 'all'].map((s) => Type.Literal(s)))),
          service: Type.Optional(Type.String({ maxLength: 63 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
      },
      async handler(request) {
        const q = request.query as { status?: string; service?: string; limit?: number };
        let query = core.db
          .selectFrom('oncall_pages')
          .selectAll()
          .orderBy('triggered_at', 'desc')
          .orderBy('id', 'desc')
          .limit(q.limit ?? 100);
        const status = q.status ?? 'open';
        if (status === 'open') query = query.where('status', '<>', 'resolved');
        else if (status !== 'all') query = query.where('status', '=', status as OncallPagesTable['status']);
        if (q.service) query = query.where('service', '=', q.service);
        return { items: (await query.execute()).map(pageView) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/pages/:id',
      access: 'viewer',
      operationId: 'getPage',
      summary: 'One page with its timeline and who it reached',
      tags: ['oncall'],
      schema: { params: IdParams },
      async handler(request) {
        const { id } = request.params as { id: string };
        const page = await paging.load(core.db, id);
        const log = await core.db.selectFrom('oncall_page_log').selectAll().where('page_id', '=', id).orderBy('id').execute();
        const users = await core.db
          .selectFrom('oncall_page_users')
          .selectAll()
          .where('page_id', '=', id)
          .orderBy('first_paged_at')
          .execute();
        return {
          ...pageView(page),
          timeline: log.map((l) => ({ at: Number(l.at), type: l.type, actor: l.actor, ...(JSON.parse(l.data) as object) })),
          paged: users.map((u) => ({ user: u.user, at: Number(u.first_paged_at), step: u.step + 1 })),
        };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/pages/:id/ack',
      access: 'responder',
      operationId: 'acknowledgePage',
      summary: 'Acknowledge: stops escalation until resolved or the ack timeout re-triggers it',
      tags: ['oncall'],
      schema: { params: IdParams },
      handler: act('ack'),
    },
    {
      method: 'POST',
      url: '/api/v1/pages/:id/resolve',
      access: 'responder',
      operationId: 'resolvePage',
      summary: 'Resolve a page (and its alert group)',
      tags: ['oncall'],
      schema: { params: IdParams },
      handler: act('resolve'),
    },
    {
      method: 'GET',
      url: '/api/v1/pages/actions',
      access: 'public',
      operationId: 'pageActionForm',
      summary: 'One-click link from a notification: shows what it will do (GET never acts: mail scanners prefetch links)',
      tags: ['oncall'],
      schema: { querystring: TokenQuery },
      async handler(request, reply) {
        const claims = await links.verify((request.query as { token: string }).token, core.clock.now());
        if ('refused' in claims) return refused(reply, claims.refused);
        const page = await core.db.selectFrom('oncall_pages').selectAll().where('id', '=', claims.page).executeTakeFirst();
        if (!page) return html(reply, 404, 'No such page', '<p>This page no longer exists.</p>');
        const verb = claims.action === 'ack' ? 'Acknowledge' : 'Resolve';
        return html(
          reply,
          200,
          `${verb} page`,
          `<p><strong>${escapeHtml(page.title)}</strong>${page.service ? ` on ${escapeHtml(page.service)}` : ''} is <em>${escapeHtml(page.status)}</em>.</p>` +
            `<form method="post"><button type="submit" style="font-size:1.2rem;padding:.5rem 1.5rem">${verb} as ${escapeHtml(claims.user)}</button></form>`,
        );
      },
    },
    {
      method: 'POST',
      url: '/api/v1/pages/actions',
      access: 'public',
      operationId: 'pageAction',
      summary: 'Carries out a one-click link: the signed token says which page, which action, and for whom',
      tags: ['oncall'],
      schema: { querystring: TokenQuery },
      async handler(request, reply) {
        const claims = await links.verify((request.query as { token: string }).token, core.clock.now());
        if ('refused' in claims) return refused(reply, claims.refused);
        const actor = { kind: 'token' as const, name: `user:${claims.user}`, role: 'responder' as const };
        const outcome = await transaction(core.db, async (tx) => {
          const page = await paging.load(tx, claims.page);
          if (page.cycle !== claims.cycle && claims.action === 'ack')
            return { page, note: 'This page re-triggered since this link was sent; use the newest notification.' };
          if (page.status === 'resolved') return { page, note: 'This page is already resolved.' };
          const done =
            claims.action === 'ack' ? await paging.acknowledge(tx, page.id, actor.name) : await paging.resolve(tx, page.id, actor.name);
          await core.audit.record(tx, {
            actor,
            action: `oncall.page.${claims.action === 'ack' ? 'acknowledge' : 'resolve'}`,
            target: `page/${page.id}`,
            change: { via: 'link' },
          });
          return { page: done, note: undefined };
        });
        return html(
          reply,
          outcome.note ? 409 : 200,
          outcome.note ? 'Nothing done' : claims.action === 'ack' ? 'Acknowledged' : 'Resolved',
          `<p><strong>${escapeHtml(outcome.page.title)}</strong> is now <em>${escapeHtml(outcome.page.status)}</em>.</p>${outcome.note ? `<p>${escapeHtml(outcome.note)}</p>` : ''}`,
        );
      },
    },
    {
      method: 'GET',
      url: '/api/v1/oncall',
      access: 'viewer',
      operationId: 'whoIsOnCallForService',
      summary: "Who a page for this service would reach first, through its escalation policy's first step",
      tags: ['oncall'],
      schema: { querystring: Type.Object({ service: Type.String({ minLength: 1, maxLength: 63 }), at: Type.Optional(Type.String()) }) },
      async handler(request) {
        const q = request.query as { service: string; at?: string };
        const issues: FieldIssue[] = [];
        const at = parseTime(q.at, '/at', issues, core.clock.now());
        if (issues.length) throw validationFailed('invalid at', issues);
        const service = await deps.catalog.getService(q.service);
        if (!service)
          throw validationFailed('unknown service', [{ pointer: '/service', message: `Service '${q.service}' does not exist` }]);
        const policyName = (service.spec as { oncall?: { escalationPolicy: string } }).oncall?.escalationPolicy;
        const policy = policyName ? await core.resources.get<EscalationPolicySpec>(ESCALATION_POLICY_KIND, policyName) : undefined;
        if (!policy) return { service: q.service, policy: null, at, steps: [] };
        const steps = [];
        for (const [i, step] of policy.spec.steps.entries()) {
          const audience = await resolveStep(deps, core.db, step.notify, at, { peek: true });
          steps.push({ step: i + 1, after: step.after, users: audience.users, webhooks: audience.webhooks.length, empty: audience.empty });
        }
        return { service: q.service, policy: policyName, at, steps };
      },
    },
  ];
}
