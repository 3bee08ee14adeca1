import { Type } from '@sinclair/typebox';
import { notFound } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { RouteDefinition } from '../../../core/module.js';
import type { DeliveryContext } from '../contracts.js';
import { CreateFreezeBody, FREEZE_KEY_PATTERN, ListFreezesQuery } from './freezes.schema.js';
import type { Freezes } from './freezes.service.js';

const TAGS = ['delivery'];

/** GET/POST /api/v1/freezes and DELETE /api/v1/freezes/{key}: what is frozen now, and manual emergency freezes. */
export function freezesRoutes(ctx: DeliveryContext, freezes: Freezes): RouteDefinition[] {
  const { core } = ctx;
  return [
    {
      method: 'GET',
      url: '/api/v1/freezes',
      access: 'viewer',
      operationId: 'listFreezes',
      summary: 'Freezes in force now (or at ?at=), Freeze resources and API freezes; ?service= keeps those that apply to it',
      tags: TAGS,
      schema: { querystring: ListFreezesQuery },
      handler: async (req) => {
        const q = req.query as { service?: string; at?: string };
        const at = q.at ? Date.parse(q.at) : core.clock.now();
        return { at, items: await freezes.list(at, q.service) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/freezes',
      access: 'deployer',
      operationId: 'createFreeze',
      summary: 'Freeze a service (or * for all) until lifted: deploys are refused unless overridden',
      tags: TAGS,
      bodyLimit: 16 * 1024,
      schema: { body: CreateFreezeBody },
      handler: async (req, reply) => {
        const body = req.body as CreateFreezeBody;
        if (body.service !== '*' && !(await ctx.catalog.getService(body.service))) {
          const known = (await ctx.catalog.listServices()).map((s) => s.metadata.name);
          throw notFound(`Service '${body.service}' does not exist; known services: ${known.join(', ') || 'none'}`, {
            service: body.service,
            knownServices: known,
          });
        }
        const key = body.key ?? newId('manual', core.clock.now()).replace('_', ':');
        const started = await freezes.set({ key, service: body.service, reason: body.reason, actor: req.actor });
        const view = (await freezes.list(core.clock.now())).find((f) => f.source === 'api' && f.name === key);
        return reply.status(started ? 201 : 200).send(view);
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/freezes/:key',
      access: 'deployer',
      operationId: 'liftFreeze',
      summary: 'Lift an API freeze by its key (Freeze resources are removed with opsdeck delete freeze NAME)',
      tags: TAGS,
      schema: { params: Type.Object({ key: Type.String({ pattern: FREEZE_KEY_PATTERN }) }) },
      handler: async (req) => {
        const { key } = req.params as { key: string };
        if (!(await freezes.liftIfActive(key, req.actor))) {
          const resource = await core.resources.get('Freeze', key);
          const hint = resource ? `; Freeze '${key}' is a resource: remove it with opsdeck delete freeze ${key}` : '';
          throw notFound(`no API freeze '${key}' is in force${hint}`, { key });
        }
        return { lifted: key };
      },
    },
  ];
}
