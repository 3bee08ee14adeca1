import { type TObject, Type } from '@sinclair/typebox';
import type { Actor } from '../../../core/auth/roles.js';
import { notFound } from '../../../core/errors.js';
import type { RouteDefinition } from '../../../core/module.js';
import type { RolloutsContext } from './context.js';
import { abort, abortAll, pause, promote, resume, retry, undo } from './control.js';
import { AbortAllBody, ActionBody, DeployBody, ListQuery, PromoteBody, ServiceParams } from './rollouts.schema.js';
import { activeRollout, getRollout, latestRollout, listRollouts, type Rollout } from './rollouts.store.js';
import { startRollout } from './start.js';
import { summaryOf, viewOf } from './views.js';

const TAGS = ['delivery'];
const nameOf = (req: { params: unknown }) => (req.params as { name: string }).name;
const BODY_LIMIT = 16 * 1024;

/** Rollout routes: deploy, status, list and the manual controls (all audited with actor and reason). */
export function rolloutRoutes(ctx: RolloutsContext): RouteDefinition[] {
  const base = '/api/v1/services/:name';
  const params = ServiceParams;
  const action = (
    verb: string,
    operationId: string,
    summary: string,
    run: (service: string, req: { actor: Actor; body: unknown }) => Promise<Rollout>,
    body: TObject = ActionBody,
  ): RouteDefinition => ({
    method: 'POST',
    url: `${base}/rollout/${verb}`,
    access: 'deployer',
    operationId,
    summary,
    tags: TAGS,
    bodyLimit: BODY_LIMIT,
    schema: { params, body },
    handler: async (req) => viewOf(ctx, await run(nameOf(req), { actor: req.actor, body: req.body ?? {} })),
  });
  return [
    {
      method: 'POST',
      url: `${base}/deploy`,
      access: 'deployer',
      operationId: 'deployService',
      summary: "Start a rollout of a version with the service's strategy (creates the release if missing)",
      tags: TAGS,
      bodyLimit: BODY_LIMIT,
      schema: { params, body: DeployBody },
      handler: async (req, reply) => {
        const body = req.body as DeployBody;
        const commitTime =
          body.commitTime === undefined ? undefined : typeof body.commitTime === 'number' ? body.commitTime : Date.parse(body.commitTime);
        const r = await startRollout(ctx, {
          service: nameOf(req),
          version: body.version,
          actor: req.actor,
          ...(body.overrideFreeze ? { overrideFreeze: body.overrideFreeze } : {}),
          ...(commitTime !== undefined ? { commitTime } : {}),
        });
        return reply.status(201).send(await viewOf(ctx, r));
      },
    },
    {
      method: 'GET',
      url: `${base}/rollout`,
      access: 'viewer',
      operationId: 'getServiceRollout',
      summary: 'The current (else the last) rollout: steps, weights per version, analysis runs and decisions, the decision log',
      tags: TAGS,
      schema: { params },
      handler: async (req) => {
        const name = nameOf(req);
        const r = (await activeRollout(ctx.core.db, name)) ?? (await latestRollout(ctx.core.db, name));
        if (!r) {
          const exists = await ctx.catalog.getService(name);
          throw notFound(
            exists
              ? `Service '${name}' has had no rollouts; start one with: opsdeck deploy ${name} --version V`
              : `Service '${name}' does not exist`,
            { service: name },
          );
        }
        return viewOf(ctx, r);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/rollouts',
      access: 'viewer',
      operationId: 'listRollouts',
      summary: 'Rollouts, newest first; filter by service and phase',
      tags: TAGS,
      schema: { querystring: ListQuery },
      handler: async (req) => {
        const q = req.query as { service?: string; phase?: string; limit?: number };
        return { items: (await listRollouts(ctx.core.db, q)).map(summaryOf) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/rollouts/:id',
      access: 'viewer',
      operationId: 'getRollout',
      summary: 'One rollout by id, as the service rollout route shows it',
      tags: TAGS,
      schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) },
      handler: async (req) => {
        const { id } = req.params as { id: string };
        const r = await getRollout(ctx.core.db, id);
        if (!r) throw notFound(`rollout '${id}' does not exist`, { id });
        return viewOf(ctx, r);
      },
    },
    action(
      'promote',
      'promoteRollout',
      'Skip the current pause or analysis step (full: skip every remaining step and go to 100%)',
      (service, { actor, body }) => promote(ctx, service, actor, body as PromoteBody),
      PromoteBody,
    ),
    action('abort', 'abortRollout', 'Abort: the new version loses its traffic at once and is scaled down', (service, { actor, body }) =>
      abort(ctx, service, actor, (body as ActionBody).reason),
    ),
    action('retry', 'retryRollout', 'Retry an aborted rollout from the step that failed', (service, { actor, body }) =>
      retry(ctx, service, actor, body as ActionBody),
    ),
    action('pause', 'pauseRollout', 'Pause the rollout where it is', (service, { actor, body }) =>
      pause(ctx, service, actor, (body as ActionBody).reason),
    ),
    action('resume', 'resumeRollout', 'Resume a paused rollout', (service, { actor, body }) =>
      resume(ctx, service, actor, body as ActionBody),
    ),
    action(
      'undo',
      'undoRollout',
      'Roll back: abort the active rollout, or switch all traffic back to the version the last rollout replaced',
      (service, { actor, body }) => undo(ctx, service, actor, (body as ActionBody).reason),
    ),
    {
      method: 'POST',
      url: '/api/v1/rollouts/abort-all',
      access: 'deployer',
      operationId: 'abortAllRollouts',
      summary: 'The kill switch: abort every active rollout',
      tags: TAGS,
      bodyLimit: BODY_LIMIT,
      schema: { body: AbortAllBody },
      handler: async (req) => {
        const { reason } = req.body as { reason: string };
        return { items: (await abortAll(ctx, req.actor, reason)).map(summaryOf) };
      },
    },
  ];
}
