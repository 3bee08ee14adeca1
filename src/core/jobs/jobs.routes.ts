import { Type } from '@sinclair/typebox';
import { notFound } from '../errors.js';
import { Limit } from '../http/schemas.js';
import type { Core, RouteDefinition } from '../module.js';
import type { JobState } from './jobs.js';

const STATES: JobState[] = ['pending', 'running', 'done', 'dead', 'cancelled'];

export function jobsRoutes(core: Core): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/jobs',
      access: 'viewer',
      operationId: 'listJobs',
      summary: 'Durable jobs and timers, e.g. the dead letters (state=dead)',
      tags: ['jobs'],
      schema: {
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union(STATES.map((s) => Type.Literal(s)))),
            kind: Type.Optional(Type.String()),
            limit: Limit,
          },
          { additionalProperties: false },
        ),
      },
      handler: async (req) => ({ items: await core.jobs.list(req.query as { state?: JobState; kind?: string; limit?: number }) }),
    },
    {
      method: 'POST',
      url: '/api/v1/jobs/:id/retry',
      access: 'admin',
      operationId: 'retryJob',
      summary: 'Move a dead job back to pending',
      tags: ['jobs'],
      schema: { params: Type.Object({ id: Type.String() }) },
      handler: async (req) => {
        const { id } = req.params as { id: string };
        const job = await core.jobs.retry(id);
        if (!job) throw notFound(`no dead job with id '${id}'`);
        await core.db.transaction().execute((tx) => core.audit.record(tx, { actor: req.actor, action: 'jobs.retry', target: `job/${id}` }));
        return job;
      },
    },
  ];
}
