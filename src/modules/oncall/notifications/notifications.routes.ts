import { Type } from '@sinclair/typebox';
import { transaction } from '../../../core/db/database.js';
import { notFound, validationFailed } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { Core, RouteDefinition } from '../../../core/module.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { NotificationMessage, NotificationsApi } from '../contracts.js';
import type { Secrets } from '../secrets.js';
import type { DeliveryLog } from './delivery-log.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from './notifications.tables.js';

const ListQuery = Type.Object(
  {
    page: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

const TestBody = Type.Object(
  {
    user: Type.String({ minLength: 1, maxLength: 63 }),
    contact: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  },
  { additionalProperties: false },
);

export function notificationRoutes(
  core: Core,
  deps: { catalog: CatalogApi; secrets: Secrets; queue: NotificationsApi; log: DeliveryLog },
): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/notifications',
      access: 'viewer',
      operationId: 'listNotifications',
      summary: 'The delivery log: notifications newest first, each with every attempt',
      tags: ['oncall'],
      schema: { querystring: ListQuery },
      async handler(request) {
        const q = request.query as { page?: string; user?: string; status?: DeliveryStatus; limit?: number };
        return { items: await deps.log.list(q) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/notifications/signing-secret',
      access: 'admin',
      operationId: 'getWebhookSigningSecret',
      summary: 'The key webhook receivers verify x-opsdeck-signature with (base64)',
      tags: ['oncall'],
      async handler() {
        return {
          secret: (await deps.secrets.get('webhook-signing')).toString('base64'),
          algorithm: 'x-opsdeck-signature: v1=<hex HMAC-SHA256(key, "<x-opsdeck-timestamp>.<raw body>")>',
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/notifications/:id',
      access: 'viewer',
      operationId: 'getNotification',
      summary: 'One delivery with its contact chain and every attempt',
      tags: ['oncall'],
      schema: { params: Type.Object({ id: Type.String({ pattern: '^ntf_[0-9a-z]+$', maxLength: 64 }) }) },
      async handler(request) {
        const { id } = request.params as { id: string };
        const view = await deps.log.get(id);
        if (!view) throw notFound(`notification '${id}' does not exist`, { id });
        return view;
      },
    },
    {
      method: 'POST',
      url: '/api/v1/notifications/test',
      access: 'responder',
      operationId: 'sendTestNotification',
      summary: "Sends a test notification to each of a user's contacts (or one named contact)",
      tags: ['oncall'],
      bodyLimit: 4096,
      schema: { body: TestBody },
      async handler(request, reply) {
        const body = request.body as { user: string; contact?: string };
        const user = await deps.catalog.getUser(body.user);
        if (!user)
          throw validationFailed(`unknown user '${body.user}'`, [{ pointer: '/user', message: `user '${body.user}' does not exist` }]);
        const contacts = user.spec.contacts ?? [];
        if (contacts.length === 0) {
          throw validationFailed(`user '${body.user}' has no contacts`, [
            { pointer: '/user', message: `user '${body.user}' has no contacts to send to; add spec.contacts` },
          ]);
        }
        const chosen = body.contact ? contacts.filter((c) => c.name === body.contact) : contacts;
        if (chosen.length === 0) {
          throw validationFailed(`unknown contact '${body.contact}'`, [
            {
              pointer: '/contact',
              message: `'${body.contact}' is not one of ${body.user}'s contacts (${contacts.map((c) => c.name).join(', ')})`,
            },
          ]);
        }
        const now = core.clock.now();
        const keys: string[] = [];
        await transaction(core.db, async (tx) => {
          // One delivery per contact and no fallback between them: a test says which contacts work.
          for (const contact of chosen) {
            const key = `test:${body.user}:${contact.name}:${newId('tst', now)}`;
            const message: NotificationMessage = {
              event: 'test',
              title: `Test notification for ${body.user}`,
              summary: `Sent by ${request.actor.name} to check the ${contact.name} contact (${contact.type}). Nothing is wrong.`,
              urgency: 'low',
              paged: [body.user],
              changes: [],
              at: now,
            };
            await deps.queue.enqueue(tx, { idempotencyKey: key, user: body.user, contacts: [contact], message });
            keys.push(key);
          }
          await core.audit.record(tx, {
            actor: request.actor,
            action: 'oncall.notification.test',
            target: `user/${body.user}`,
            change: { contacts: chosen.map((c) => c.name) },
          });
        });
        return reply.status(202).send({ items: await deps.log.byKeys(keys) });
      },
    },
  ];
}
