import { Type } from '@sinclair/typebox';
import { transaction } from '../../../core/db/database.js';
import { notFound } from '../../../core/errors.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { AlertingGroupAlertsTable, AlertingGroupsTable, GroupStatus } from '../alerting.tables.js';
import { type ChangeView, whatChanged } from './changes.js';
import { actOnGroup } from './groups.service.js';

export interface GroupView {
  id: string;
  key: string;
  source: string;
  integration: string | null;
  service: string | null;
  title: string;
  groupLabels: Record<string, string>;
  status: GroupStatus;
  openedAt: number;
  updatedAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  events: number;
  alerts?: {
    fingerprint: string;
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: number;
    endsAt: number | null;
    received: number;
  }[];
  changes?: ChangeView[];
}

export function groupView(g: AlertingGroupsTable, alerts?: AlertingGroupAlertsTable[]): GroupView {
  return {
    id: g.id,
    key: g.group_key,
    source: g.source,
    integration: g.integration,
    service: g.service,
    title: g.title,
    groupLabels: JSON.parse(g.group_labels),
    status: g.status,
    openedAt: Number(g.opened_at),
    updatedAt: Number(g.updated_at),
    acknowledgedAt: g.acknowledged_at === null ? null : Number(g.acknowledged_at),
    acknowledgedBy: g.acknowledged_by,
    resolvedAt: g.resolved_at === null ? null : Number(g.resolved_at),
    resolvedBy: g.resolved_by,
    events: Number(g.events),
    ...(alerts
      ? {
          alerts: alerts.map((a) => ({
            fingerprint: a.fingerprint,
            status: a.status,
            labels: JSON.parse(a.labels),
            annotations: JSON.parse(a.annotations),
            startsAt: Number(a.starts_at),
            endsAt: a.ends_at === null ? null : Number(a.ends_at),
            received: Number(a.received),
          })),
        }
      : {}),
  };
}

const Status = Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved'), Type.Literal('active')]);

export function groupRoutes(core: Core, catalog: CatalogApi): RouteDefinition[] {
  async function detail(id: string, windowMs?: number): Promise<GroupView> {
    const g = await core.db.selectFrom('alerting_groups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!g) throw notFound(`alert group '${id}' does not exist`);
    const alerts = await core.db.selectFrom('alerting_group_alerts').selectAll().where('group_id', '=', id).orderBy('starts_at').execute();
    const view = groupView(g, alerts);
    view.changes = await whatChanged(core, catalog, {
      service: g.service,
      openedAt: view.openedAt,
      until: view.resolvedAt ?? core.clock.now(),
      ...(windowMs === undefined ? {} : { windowMs }),
    });
    return view;
  }

  const act = (action: 'acknowledge' | 'resolve'): RouteDefinition => ({
    method: 'POST',
    url: `/api/v1/alert-groups/:id/${action === 'acknowledge' ? 'ack' : 'resolve'}`,
    access: 'responder',
    operationId: action === 'acknowledge' ? 'ackAlertGroup' : 'resolveAlertGroup',
    summary: action === 'acknowledge' ? 'Acknowledge an alert group' : 'Resolve an alert group and its alerts',
    tags: ['alerting'],
    schema: { body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) })) },
    async handler(request) {
      const { id } = request.params as { id: string };
      const reason = (request.body as { reason?: string } | undefined)?.reason;
      const by = request.actor.name;
      const done = await transaction(core.db, async (tx) => {
        const g = await actOnGroup(core, tx, { id, action, by, now: core.clock.now() });
        if (g)
          await core.audit.record(tx, {
            actor: request.actor,
            action: `alerting.group.${action}`,
            target: `alert-group/${id}`,
            change: { reason: reason ?? null },
          });
        return g;
      });
      if (!done) throw notFound(`alert group '${id}' does not exist`);
      return detail(id);
    },
  });

  return [
    {
      method: 'GET',
      url: '/api/v1/alert-groups',
      access: 'viewer',
      operationId: 'listAlertGroups',
      summary: 'Alert groups, newest first (status=active: open or acknowledged)',
      tags: ['alerting'],
      schema: {
        querystring: Type.Object({
          status: Type.Optional(Status),
          service: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
      },
      async handler(request) {
        const q = request.query as { status?: GroupStatus | 'active'; service?: string; limit?: number };
        let sel = core.db
          .selectFrom('alerting_groups')
          .selectAll()
          .orderBy('opened_at', 'desc')
          .limit(q.limit ?? 200);
        if (q.status === 'active') sel = sel.where('status', '!=', 'resolved');
        else if (q.status) sel = sel.where('status', '=', q.status);
        if (q.service) sel = sel.where('service', '=', q.service);
        return { items: (await sel.execute()).map((g) => groupView(g)) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/alert-groups/:id',
      access: 'viewer',
      operationId: 'getAlertGroup',
      summary: 'One alert group with its alerts and what changed on its service and dependencies before it opened',
      tags: ['alerting'],
      schema: { querystring: Type.Object({ changesWindowMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })) }) },
      async handler(request) {
        const { changesWindowMinutes } = request.query as { changesWindowMinutes?: number };
        return detail(
          (request.params as { id: string }).id,
          changesWindowMinutes === undefined ? undefined : changesWindowMinutes * 60_000,
        );
      },
    },
    act('acknowledge'),
    act('resolve'),
  ];
}
